// The HTTP layer's shared limits as units: the per-client connection cap, the request
// rate (on a clock the test moves) and the body memory budget. server_test.cpp checks the
// running server under the same limits.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "host/http/body_memory_budget.h"
#include "host/http/connection_admission.h"
#include "host/http/request_rate_limiter.h"

using namespace idvault::http;
using namespace std::chrono_literals;

TEST(ConnectionAdmission, OneClientAtItsCapLeavesRoomForOthers) {
  ConnectionAdmission admission(5, 2);
  EXPECT_EQ(admission.admit(1), ConnectionAdmission::Verdict::admitted);
  EXPECT_EQ(admission.admit(1), ConnectionAdmission::Verdict::admitted);
  EXPECT_EQ(admission.admit(1), ConnectionAdmission::Verdict::client_full);
  EXPECT_EQ(admission.admit(2), ConnectionAdmission::Verdict::admitted);
  EXPECT_EQ(admission.admit(3), ConnectionAdmission::Verdict::admitted);
  EXPECT_EQ(admission.admit(4), ConnectionAdmission::Verdict::admitted);
  EXPECT_EQ(admission.admit(5), ConnectionAdmission::Verdict::server_full);
  admission.release(1);
  EXPECT_EQ(admission.admit(1), ConnectionAdmission::Verdict::admitted);
  for (std::uint32_t client : {1u, 1u, 2u, 3u, 4u}) admission.release(client);
  admission.wait_until_idle();  // returns: everything was released
}

TEST(RequestRateLimiter, ABurstThenOnePerIntervalEachClientOnItsOwn) {
  RequestRateLimiter limiter({.burst = 3, .refill_interval = 2000ms});
  const auto t0 = RequestRateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take(7, t0)) << i;
  const auto wait = limiter.take(7, t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 2s);
  EXPECT_FALSE(limiter.take(8, t0)) << "another client has its own bucket";
  EXPECT_TRUE(limiter.take(7, t0 + 1500ms));
  EXPECT_FALSE(limiter.take(7, t0 + 2100ms)) << "one request earned back";
  EXPECT_TRUE(limiter.take(7, t0 + 2200ms));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take(7, t0 + 60s)) << "the bucket refilled";
}

TEST(BodyMemoryBudget, BuffersGrowAsBytesArriveAndTheBudgetIsShared) {
  BodyMemoryBudget budget(1024 * 1024);
  BodyMemoryBudget::Share first(budget);
  std::string body;
  const std::size_t declared = 100 * 1024 * 1024;
  ASSERT_TRUE(grow_body_buffer(body, declared, first));
  EXPECT_LT(body.capacity(), 256u * 1024) << "a declared length reserves nothing";
  while (body.capacity() < 512 * 1024) ASSERT_TRUE(grow_body_buffer(body, declared, first));
  body.append(body.capacity(), 'x');
  EXPECT_FALSE(grow_body_buffer(body, declared, first)) << "doubling again would pass the budget";
  EXPECT_EQ(body.size(), body.capacity()) << "a refused growth leaves the body as it was";
  {
    BodyMemoryBudget::Share second(budget);
    EXPECT_TRUE(second.resize(1024 * 1024 - body.capacity()));
    EXPECT_FALSE(second.resize(1024 * 1024 - body.capacity() + 1));
  }
  BodyMemoryBudget::Share third(budget);
  EXPECT_TRUE(third.resize(1024 * 1024 - body.capacity())) << "a share gives back what it held";
  std::string small;
  BodyMemoryBudget::Share fourth(budget);
  EXPECT_FALSE(grow_body_buffer(small, 10, fourth));
}
