#include "firmware-sim/apdu.h"

#include <gtest/gtest.h>

namespace idvault::cardsim {
namespace {

CommandApdu parsed(std::string_view hex) {
  const ApduParse result = parse_command_apdu(from_hex(hex));
  EXPECT_TRUE(std::holds_alternative<CommandApdu>(result)) << hex;
  return std::holds_alternative<CommandApdu>(result) ? std::get<CommandApdu>(result)
                                                     : CommandApdu{};
}

StatusWord refused(std::string_view hex) {
  const ApduParse result = parse_command_apdu(from_hex(hex));
  EXPECT_TRUE(std::holds_alternative<StatusWord>(result)) << hex;
  return std::holds_alternative<StatusWord>(result) ? std::get<StatusWord>(result) : StatusWord::ok;
}

TEST(CardsimApdu, Case1HasNoDataAndNoLe) {
  const CommandApdu a = parsed("00200080");
  EXPECT_EQ(a.cla, 0x00);
  EXPECT_EQ(a.ins, 0x20);
  EXPECT_EQ(a.p1, 0x00);
  EXPECT_EQ(a.p2, 0x80);
  EXPECT_TRUE(a.data.empty());
  EXPECT_FALSE(a.le.has_value());
  EXPECT_FALSE(a.extended);
}

TEST(CardsimApdu, Case2ShortLeZeroMeans256) {
  EXPECT_EQ(parsed("00c0000008").le, 8U);
  EXPECT_EQ(parsed("00c0000000").le, 256U);
}

TEST(CardsimApdu, Case3ShortCarriesExactlyLcBytes) {
  const CommandApdu a = parsed("0020008008313233343536ffff");
  EXPECT_EQ(to_hex(a.data), "313233343536ffff");
  EXPECT_FALSE(a.le.has_value());
}

TEST(CardsimApdu, Case4ShortHasDataAndLe) {
  const CommandApdu a = parsed("00cb3fff055c035fc10508");
  EXPECT_EQ(to_hex(a.data), "5c035fc105");
  EXPECT_EQ(a.le, 8U);
}

TEST(CardsimApdu, ChainingBitIsVisible) {
  EXPECT_TRUE(parsed("1087079d0101").chained());
  EXPECT_FALSE(parsed("0087079d0101").chained());
}

TEST(CardsimApdu, Case2ExtendedLeZeroMeans65536) {
  const CommandApdu a = parsed("00cb3fff000100");
  EXPECT_TRUE(a.extended);
  EXPECT_EQ(a.le, 256U);
  EXPECT_EQ(parsed("00cb3fff000000").le, 65536U);
}

TEST(CardsimApdu, Case3And4Extended) {
  const CommandApdu c3 = parsed("00cb3fff0000035c017e");
  EXPECT_TRUE(c3.extended);
  EXPECT_EQ(to_hex(c3.data), "5c017e");
  EXPECT_FALSE(c3.le.has_value());
  const CommandApdu c4 = parsed("00cb3fff0000035c017e0000");
  EXPECT_EQ(to_hex(c4.data), "5c017e");
  EXPECT_EQ(c4.le, 65536U);
  EXPECT_EQ(parsed("00cb3fff0000035c017e0102").le, 0x0102U);
}

TEST(CardsimApdu, ExtendedLcCarriesLongData) {
  const std::string hex = "0087079d000100" + std::string(512, 'a');  // Lc = 0x0100
  const CommandApdu a = parsed(hex);
  EXPECT_EQ(a.data.size(), 256U);
}

TEST(CardsimApdu, TruncatedHeaderIsWrongLength) {
  EXPECT_EQ(refused(""), StatusWord::wrong_length);
  EXPECT_EQ(refused("00"), StatusWord::wrong_length);
  EXPECT_EQ(refused("00a404"), StatusWord::wrong_length);
}

TEST(CardsimApdu, ShortLcMismatchIsWrongLength) {
  EXPECT_EQ(refused("0020008008313233"), StatusWord::wrong_length);      // Lc 8, 3 bytes
  EXPECT_EQ(refused("00200080023132333435"), StatusWord::wrong_length);  // Lc 2, 5 bytes
  EXPECT_EQ(refused("00a4040003a000000308"), StatusWord::wrong_length);  // Lc 3, 5 bytes
}

TEST(CardsimApdu, ExtendedWithShortBufferIsWrongLength) {
  EXPECT_EQ(refused("00cb3fff0001"), StatusWord::wrong_length);            // 00 then one byte
  EXPECT_EQ(refused("00cb3fff0000055c01"), StatusWord::wrong_length);      // Lc 5, 2 bytes
  EXPECT_EQ(refused("00cb3fff0000035c017e00"), StatusWord::wrong_length);  // one Le byte of two
  EXPECT_EQ(refused("00cb3fff000000aa"), StatusWord::wrong_length);        // Lc 0 is not encodable
  EXPECT_EQ(refused("00cb3fff00000000"), StatusWord::wrong_length);
}

TEST(CardsimApdu, ResponseAppendsStatusWord) {
  EXPECT_EQ(to_hex(response_apdu(from_hex("aabb"), 0x6108)), "aabb6108");
  EXPECT_EQ(to_hex(response_apdu(StatusWord::ins_not_supported)), "6d00");
}

}  // namespace
}  // namespace idvault::cardsim
