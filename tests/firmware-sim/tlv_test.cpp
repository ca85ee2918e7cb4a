#include "firmware-sim/tlv.h"

#include <gtest/gtest.h>

namespace idvault::cardsim {
namespace {

TEST(CardsimTlv, EncodesEachLengthForm) {
  EXPECT_EQ(to_hex(tlv(0x53, Bytes(0x7F, 0))).substr(0, 4), "537f");
  EXPECT_EQ(to_hex(tlv(0x53, Bytes(0x80, 0))).substr(0, 6), "538180");
  EXPECT_EQ(to_hex(tlv(0x53, Bytes(0xFF, 0))).substr(0, 6), "5381ff");
  EXPECT_EQ(to_hex(tlv(0x53, Bytes(0x100, 0))).substr(0, 8), "53820100");
  EXPECT_EQ(to_hex(tlv(0x53, Bytes(0x10000, 0))).substr(0, 10), "5383010000");
  EXPECT_EQ(tlv(0x53, Bytes(0x10000, 0)).size(), 0x10000U + 5);
}

TEST(CardsimTlv, EncodesMultiByteTags) {
  EXPECT_EQ(to_hex(tlv(0x5FC102, from_hex("aa"))), "5fc10201aa");
  EXPECT_EQ(to_hex(tlv(0x7E, {})), "7e00");
  EXPECT_EQ(to_hex(tag_bytes(0x00)), "00");
}

TEST(CardsimTlv, DecodesWhatItEncodes) {
  Bytes buffer;
  append_tlv(buffer, 0x5FC102, Bytes(300, 0xAB));
  append_tlv(buffer, 0x34, from_hex("0102"));
  append_tlv(buffer, 0xFE, {});
  const auto tlvs = decode_tlvs(buffer);
  ASSERT_TRUE(tlvs.has_value());
  ASSERT_EQ(tlvs->size(), 3U);
  EXPECT_EQ((*tlvs)[0].tag, 0x5FC102U);
  EXPECT_EQ((*tlvs)[0].value.size(), 300U);
  EXPECT_EQ(to_hex(*find_tlv(*tlvs, 0x34)), "0102");
  EXPECT_TRUE(find_tlv(*tlvs, 0xFE)->empty());
  EXPECT_FALSE(find_tlv(*tlvs, 0x99).has_value());
}

TEST(CardsimTlv, EmptyBufferIsAnEmptySequence) {
  const auto tlvs = decode_tlvs({});
  ASSERT_TRUE(tlvs.has_value());
  EXPECT_TRUE(tlvs->empty());
}

TEST(CardsimTlv, RejectsValueRunningPastTheBuffer) {
  EXPECT_FALSE(decode_tlvs(from_hex("5305aabb")).has_value());
  EXPECT_FALSE(decode_tlvs(from_hex("538201")).has_value());  // length bytes cut short
  EXPECT_FALSE(decode_tlvs(from_hex("53820200aa")).has_value());
}

TEST(CardsimTlv, RejectsTruncatedTagAndMissingLength) {
  EXPECT_FALSE(decode_tlvs(from_hex("5f")).has_value());
  EXPECT_FALSE(decode_tlvs(from_hex("5fc1")).has_value());
  EXPECT_FALSE(decode_tlvs(from_hex("53")).has_value());
  EXPECT_FALSE(decode_tlvs(from_hex("5fffffff0100")).has_value());  // tag longer than 3 bytes
}

TEST(CardsimTlv, RejectsIndefiniteAndOversizedLengthForms) {
  EXPECT_FALSE(decode_tlvs(from_hex("5380aa0000")).has_value());
  EXPECT_FALSE(decode_tlvs(from_hex("538400000001aa")).has_value());
}

}  // namespace
}  // namespace idvault::cardsim
