#include "firmware-sim/card_state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "firmware-sim/errors.h"
#include "tests/firmware-sim/cardsim_test_card.h"

namespace idvault::cardsim::testing {
namespace {

void write_file(const std::filesystem::path& file, const std::string& text, mode_t mode = 0600) {
  std::ofstream(file) << text;
  ::chmod(file.c_str(), mode);
}

std::string load_error(const std::filesystem::path& file) {
  try {
    (void)load_card_state(file);
  } catch (const CardsimError& e) {
    return e.what();
  }
  return "";
}

TEST(CardsimState, RoundTripKeepsEverything) {
  TestCard card;
  card.state().pin_tries_left = 1;
  card.state().puk_tries_left = 2;
  save_card_state(card.state_file(), card.state());
  const CardState loaded = load_card_state(card.state_file());
  EXPECT_EQ(loaded.label, "idvault-cardsim");
  EXPECT_EQ(to_hex(loaded.guid), to_hex(card.state().guid));
  EXPECT_TRUE(loaded.pin.equals(card.state().pin.reveal()));
  EXPECT_TRUE(loaded.puk.equals(card.state().puk.reveal()));
  EXPECT_EQ(loaded.pin_tries_left, 1U);
  EXPECT_EQ(loaded.puk_tries_left, 2U);
  ASSERT_EQ(loaded.slots.size(), 4U);
  for (const auto& [ref, slot] : card.state().slots) {
    const CardSlot& other = loaded.slots.at(ref);
    EXPECT_EQ(to_hex(other.certificate_der), to_hex(slot.certificate_der));
    EXPECT_EQ(to_hex(other.key.public_key_spki_der()), to_hex(slot.key.public_key_spki_der()));
    EXPECT_EQ(other.key.algorithm(), slot.key.algorithm());
  }
}

TEST(CardsimState, FileIsPrivateAndNoTemporaryIsLeftBehind) {
  TestCard card;
  save_card_state(card.state_file(), card.state());
  struct stat st {};
  ASSERT_EQ(::stat(card.state_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  int entries = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(card.state_file().parent_path()))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(CardsimState, PersonalisedSlotsHaveTheRightAlgorithms) {
  TestCard card(2048);
  const auto& slots = card.state().slots;
  EXPECT_EQ(slots.at(0x9A).key.algorithm(), PivAlgorithm::ecc_p256);
  EXPECT_EQ(slots.at(0x9C).key.algorithm(), PivAlgorithm::ecc_p256);
  EXPECT_EQ(slots.at(0x9D).key.algorithm(), PivAlgorithm::rsa2048);
  EXPECT_EQ(slots.at(0x9E).key.algorithm(), PivAlgorithm::ecc_p256);
  EXPECT_EQ(card.state().guid.size(), 16U);
}

TEST(CardsimState, PersonalisationRefusesBadOptions) {
  PersonalisationOptions bad_pin;
  bad_pin.pin = WipedBytes::from_text("12ab56");
  EXPECT_THROW((void)personalise_card(bad_pin), CardsimError);
  PersonalisationOptions short_pin;
  short_pin.pin = WipedBytes::from_text("12345");
  EXPECT_THROW((void)personalise_card(short_pin), CardsimError);
  PersonalisationOptions long_puk;
  long_puk.puk = WipedBytes::from_text("123456789");
  EXPECT_THROW((void)personalise_card(long_puk), CardsimError);
  PersonalisationOptions rsa;
  rsa.rsa_bits = 4096;
  EXPECT_THROW((void)personalise_card(rsa), CardsimError);
  PersonalisationOptions label;
  label.label = "";
  EXPECT_THROW((void)personalise_card(label), CardsimError);
}

TEST(CardsimState, LooseModeIsRefused) {
  TestCard card;
  ::chmod(card.state_file().c_str(), 0644);
  EXPECT_NE(load_error(card.state_file()).find("chmod 600"), std::string::npos);
}

TEST(CardsimState, MissingFileNamesTheFile) {
  TempDir dir;
  EXPECT_NE(load_error(dir.path() / "absent.json").find("absent.json"), std::string::npos);
}

TEST(CardsimState, MalformedContentIsRefusedWithTheReason) {
  TempDir dir;
  const auto file = dir.path() / "s.json";
  write_file(file, "{not json");
  EXPECT_NE(load_error(file).find("malformed"), std::string::npos);
  write_file(file, R"({"format": "something-else"})");
  EXPECT_NE(load_error(file).find("not an idvault-cardsim state file"), std::string::npos);
}

TEST(CardsimState, OutOfRangeCountersAndBadPinsAreRefused) {
  TestCard card;
  std::ifstream in(card.state_file());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const auto file = card.state_file();
  write_file(file, replaced("\"pin_tries_left\": 3", "\"pin_tries_left\": 7"));
  EXPECT_NE(load_error(file).find("pin_tries_left"), std::string::npos);
  write_file(file, replaced("\"pin\": \"123456\"", "\"pin\": \"12\""));
  EXPECT_NE(load_error(file).find("PIN"), std::string::npos);
  write_file(file, replaced("\"guid\": \"", "\"guid\": \"00"));
  EXPECT_NE(load_error(file).find("guid"), std::string::npos);
}

}  // namespace
}  // namespace idvault::cardsim::testing
