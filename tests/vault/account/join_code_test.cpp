// The join's short authentication string: the same inputs give the same 8 digits on both
// devices, and any change to what the person is approving changes them.
#include "vault/account/join_code.h"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>
#include <string>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kAccountText =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr std::array<std::uint8_t, 4> kIdentityBytes{0x30, 0x59, 0x01, 0x02};
constexpr std::array<std::uint8_t, 5> kSlotBytes{0x30, 0x82, 0x01, 0x22, 0x05};
constexpr std::string_view kNonceText = "00112233445566778899aabbccddeeff";

class JoinCode : public ::testing::Test {
 protected:
  const std::string kAccount{kAccountText};
  const Bytes kIdentity{kIdentityBytes.begin(), kIdentityBytes.end()};
  const Bytes kSlot{kSlotBytes.begin(), kSlotBytes.end()};
  const std::string kNonce{kNonceText};
};

TEST_F(JoinCode, IsEightDigitsInTwoGroupsAndTheSameForTheSameRequest) {
  const std::string code = join_code(kAccount, kIdentity, kSlot, kNonce);
  EXPECT_TRUE(std::regex_match(code, std::regex("[0-9]{4}-[0-9]{4}"))) << code;
  EXPECT_EQ(code, join_code(kAccount, kIdentity, kSlot, kNonce));
}

TEST_F(JoinCode, ChangesWithTheAccountTheKeysAndTheNonce) {
  const std::string code = join_code(kAccount, kIdentity, kSlot, kNonce);
  std::string other_account = kAccount;
  other_account[63] = 'b';
  Bytes other_identity = kIdentity;
  other_identity.back() ^= 1;
  Bytes other_slot = kSlot;
  other_slot.back() ^= 1;
  std::string other_nonce = kNonce;
  other_nonce[0] = '1';
  EXPECT_NE(code, join_code(other_account, kIdentity, kSlot, kNonce));
  EXPECT_NE(code, join_code(kAccount, other_identity, kSlot, kNonce));
  EXPECT_NE(code, join_code(kAccount, kIdentity, other_slot, kNonce));
  EXPECT_NE(code, join_code(kAccount, kIdentity, kSlot, other_nonce));
}

TEST_F(JoinCode, SpreadsOverTheDigits) {
  std::set<std::string> codes;
  for (int i = 0; i < 200; ++i)
    codes.insert(join_code(kAccount, kIdentity, kSlot, new_join_nonce()));
  EXPECT_GT(codes.size(), 195U);  // 200 draws from 10^8: a repeat is a bug, not luck
}

TEST_F(JoinCode, RefusesAMalformedAccountOrNonce) {
  EXPECT_THROW((void)join_code(std::string(63, 'a'), kIdentity, kSlot, kNonce), FormatError);
  EXPECT_THROW((void)join_code(std::string(64, 'A'), kIdentity, kSlot, kNonce), FormatError);
  EXPECT_THROW((void)join_code(kAccount, kIdentity, kSlot, "0011"), FormatError);
  EXPECT_THROW((void)join_code(kAccount, kIdentity, kSlot, std::string(32, 'g')), FormatError);
  EXPECT_THROW((void)join_code(kAccount, kIdentity, kSlot, std::string(32, 'F')), FormatError);
}

TEST_F(JoinCode, NewNoncesAreFreshLowercaseHex) {
  const std::string a = new_join_nonce();
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{32}"))) << a;
  EXPECT_NE(a, new_join_nonce());
}

}  // namespace
}  // namespace idvault::vault
