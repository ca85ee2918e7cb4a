#include "firmware-sim/faults.h"

#include <gtest/gtest.h>

#include "firmware-sim/errors.h"

namespace idvault::cardsim {
namespace {

TEST(CardsimFaults, ParsesEachFault) {
  const FaultPlan plan = parse_faults({"remove-after=5", "delay-ms=20", "error-after=0"});
  EXPECT_EQ(plan.remove_after, 5U);
  EXPECT_EQ(plan.delay.count(), 20);
  EXPECT_EQ(plan.error_after, 0U);
  EXPECT_FALSE(parse_faults({}).remove_after.has_value());
}

TEST(CardsimFaults, RefusesBadSpecsWithTheirName) {
  for (const char* bad : {"remove-after", "remove-after=", "remove-after=x", "remove-after=-1",
                          "remove-after=0", "delay-ms=60001", "explode=1", "error-after=1.5"}) {
    try {
      (void)parse_faults({bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const CardsimError& e) {
      EXPECT_NE(std::string(e.what()).find("--fault"), std::string::npos) << e.what();
    }
  }
}

TEST(CardsimFaults, ErrorAfterFailsEveryLaterApdu) {
  FaultInjector faults(parse_faults({"error-after=2"}));
  EXPECT_FALSE(faults.next_apdu_fails());
  EXPECT_FALSE(faults.next_apdu_fails());
  EXPECT_TRUE(faults.next_apdu_fails());
  EXPECT_TRUE(faults.next_apdu_fails());
}

TEST(CardsimFaults, RemoveAfterFiresOnceAfterTheNthApdu) {
  FaultInjector faults(parse_faults({"remove-after=2"}));
  (void)faults.next_apdu_fails();
  EXPECT_FALSE(faults.pull_card_now());
  (void)faults.next_apdu_fails();
  EXPECT_TRUE(faults.pull_card_now());
  (void)faults.next_apdu_fails();
  EXPECT_FALSE(faults.pull_card_now());
}

TEST(CardsimFaults, NoPlanNoFaults) {
  FaultInjector faults(FaultPlan{});
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(faults.next_apdu_fails());
    EXPECT_FALSE(faults.pull_card_now());
  }
}

}  // namespace
}  // namespace idvault::cardsim
