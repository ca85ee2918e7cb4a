#include "tests/firmware-sim/cardsim_test_card.h"

#include <cstdlib>

#include "firmware-sim/errors.h"
#include "firmware-sim/tlv.h"

namespace idvault::cardsim::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cardsim-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw CardsimError("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::uint16_t sw_of(const Bytes& response) {
  if (response.size() < 2) return 0;
  return static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
}

Bytes data_of(const Bytes& response) {
  if (response.size() < 2) return {};
  return Bytes(response.begin(), response.end() - 2);
}

std::string padded_pin_hex(std::string_view pin) {
  std::string hex = to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(pin.data()), pin.size()));
  while (hex.size() < 16) hex += "ff";
  return hex;
}

TestCard::TestCard(unsigned rsa_bits) : state_file_(dir_.path() / "card.json") {
  PersonalisationOptions options;
  options.rsa_bits = rsa_bits;
  state_ = personalise_card(options);
  save_card_state(state_file_, state_);
  rebuild_applet();
}

void TestCard::rebuild_applet() {
  auto broken = persistence_broken_;
  auto file = state_file_;
  applet_ = std::make_unique<PivApplet>(state_, [broken, file](const CardState& s) {
    if (*broken) throw CardsimError("disk full (simulated)");
    save_card_state(file, s);
  });
}

void TestCard::reload() {
  state_ = load_card_state(state_file_);
  rebuild_applet();
}

void TestCard::select() {
  const Bytes r = send("00a4040009a00000030800001000");
  ASSERT_EQ(sw_of(r), 0x9000);
}

void TestCard::verify_pin(std::string_view pin) {
  const Bytes r = send("0020008008" + padded_pin_hex(pin));
  ASSERT_EQ(sw_of(r), 0x9000);
}

Bytes TestCard::get_data(std::uint32_t tag) {
  const Bytes tag_hex = tag_bytes(tag);
  Bytes apdu = from_hex("00cb3fff");
  apdu.push_back(static_cast<std::uint8_t>(tag_hex.size() + 2));
  apdu.push_back(0x5C);
  apdu.push_back(static_cast<std::uint8_t>(tag_hex.size()));
  append(apdu, tag_hex);
  apdu.push_back(0x00);
  Bytes r = send(apdu);
  Bytes all = data_of(r);
  for (int guard = 0; (sw_of(r) >> 8) == 0x61 && guard < 100; ++guard) {
    r = send("00c0000000");
    append(all, data_of(r));
  }
  all.push_back(static_cast<std::uint8_t>(sw_of(r) >> 8));
  all.push_back(static_cast<std::uint8_t>(sw_of(r) & 0xFF));
  return all;
}

Bytes TestCard::certificate(PivKeyRef ref) {
  return state_.slots.at(static_cast<std::uint8_t>(ref)).certificate_der;
}

}  // namespace idvault::cardsim::testing
