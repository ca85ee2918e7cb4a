#include "vault/wire/value_secret.h"

#include <gtest/gtest.h>

#include <set>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

TEST(ValueSecret, GeneratedSecretsAre32BytesWithTelegramsChecksum) {
  std::set<std::vector<std::uint8_t>> seen;
  for (int i = 0; i < 5000; ++i) {
    const ValueSecret secret = ValueSecret::generate();
    ASSERT_EQ(secret.reveal().size(), 32u);
    unsigned sum = 0;
    for (const auto b : secret.reveal()) sum += b;
    ASSERT_EQ(sum % 255, 239u) << "secret " << i;
    EXPECT_TRUE(secret.has_telegram_checksum());
    seen.emplace(secret.reveal().begin(), secret.reveal().end());
  }
  EXPECT_EQ(seen.size(), 5000u);  // random, not a constant that happens to pass
}

TEST(ValueSecret, ChecksumFollowsTheByteSumModulo255) {
  std::vector<std::uint8_t> bytes(32, 0);
  EXPECT_FALSE(has_telegram_checksum(bytes));
  bytes[0] = 239;
  EXPECT_TRUE(has_telegram_checksum(bytes));
  bytes[1] = 1;
  EXPECT_FALSE(has_telegram_checksum(bytes));
  bytes[1] = 255;  // 239 + 255 = 494 = 239 mod 255
  EXPECT_TRUE(has_telegram_checksum(bytes));
}

TEST(ValueSecret, AcceptsAny32BytesBecauseOtherEncodersUsePlainRandomSecrets) {
  const ValueSecret secret = ValueSecret::from_bytes(SecretBytes(32), "t");
  EXPECT_FALSE(secret.has_telegram_checksum());
  EXPECT_EQ(secret.reveal().size(), 32u);
}

TEST(ValueSecret, RejectsOtherSizesNamingTheField) {
  for (const std::size_t size : {0u, 16u, 31u, 33u, 64u}) {
    try {
      (void)ValueSecret::from_bytes(SecretBytes(size),
                                    "credentials.secure_data.passport.data.secret");
      ADD_FAILURE() << size;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.where(), "credentials.secure_data.passport.data.secret");
    }
  }
}

TEST(ValueSecret, CloneIsEqualAndIndependent) {
  const ValueSecret secret = ValueSecret::generate();
  const ValueSecret copy = secret.clone();
  EXPECT_TRUE(std::equal(secret.reveal().begin(), secret.reveal().end(), copy.reveal().begin()));
  EXPECT_NE(secret.reveal().data(), copy.reveal().data());
}

}  // namespace
}  // namespace idvault::vault
