#include "vault/wire/value_cipher.h"

#include <gtest/gtest.h>

#include <set>

#include "common/base64.h"
#include "tests/vault/wire/crafted_value.h"
#include "tests/vault/wire/sample_passport.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using testing::bytes_of;
using testing::craft_value;
using testing::random_bytes;

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::vector<std::uint8_t> to_vector(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

ValueSecret secret_of(std::span<const std::uint8_t> bytes) {
  return ValueSecret::from_bytes(SecretBytes(bytes), "t");
}

// Made with python3-cryptography straight from the spec (padding 45 = 1..44 after the
// length byte), not by our encoder.
TEST(ValueCipher, DecryptsAKnownAnswerMadeByAnotherImplementation) {
  const auto secret =
      secret_of(from_hex("6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283"));
  const auto hash = from_hex("ca78815209d4063ba0200f1405d23a9b74562b2d8d5426420c88213482fb7142");
  const auto ciphertext = from_hex(
      "a3beacf553684541dbd31668ed08d95ac161fb16e4690a62a7d0aae468fab32e"
      "5999fbde3c1d928253cc891ddc16cee21da801090c5d080960592375e28203fe");
  ValueDecryptor decryptor;
  EXPECT_EQ(decryptor.decrypt(ciphertext, hash, secret).reveal_text(), R"({"document_no":"X"})");
}

TEST(ValueCipher, RoundTripsEverySizeFrom0To100) {
  ValueDecryptor decryptor;
  for (std::size_t size = 0; size <= 100; ++size) {
    const auto plaintext = random_bytes(size);
    const ValueSecret secret = ValueSecret::generate();
    const EncryptedValue value = encrypt_value(plaintext, secret);
    ASSERT_EQ(value.ciphertext.size() % 16, 0u);
    ASSERT_EQ(value.hash.size(), 32u);
    EXPECT_EQ(to_vector(decryptor.decrypt(value.ciphertext, value.hash, secret).reveal()),
              plaintext)
        << size;
  }
}

TEST(ValueCipher, RoundTripsSeveralMegabytesInPlace) {
  const auto plaintext = random_bytes(5 * 1024 * 1024 + 7);
  const ValueSecret secret = ValueSecret::generate();
  EncryptedValue value = encrypt_value(plaintext, secret);
  ValueDecryptor decryptor;
  const auto result =
      decryptor.decrypt_into(value.ciphertext, value.hash, secret, value.ciphertext);
  EXPECT_GE(result.data(), value.ciphertext.data());
  EXPECT_EQ(to_vector(result), plaintext);
}

TEST(ValueCipher, RandomPaddingCoversTheWholeAllowedRange) {
  for (std::size_t size = 0; size < 16; ++size) {
    std::set<std::size_t> allowed;
    for (std::size_t pad = 0; pad < 300; ++pad) {
      if (is_valid_padding(pad, size)) allowed.insert(pad);
    }
    ASSERT_GE(allowed.size(), 14u);
    EXPECT_EQ(*allowed.begin(), 32 + (16 - (32 + size) % 16) % 16);
    EXPECT_LE(*allowed.rbegin(), 255u);
    std::set<std::size_t> drawn;
    for (int i = 0; i < 2000; ++i) drawn.insert(random_padding(size));
    EXPECT_EQ(drawn, allowed) << "plaintext size " << size;
  }
}

TEST(ValueCipher, EncryptedPaddingsSpanFrom32To255) {
  std::set<std::size_t> seen;
  const ValueSecret secret = ValueSecret::generate();
  for (int i = 0; i < 4000; ++i) {
    const std::size_t size = static_cast<std::size_t>(i % 16);
    const auto value = encrypt_value(random_bytes(size), secret);
    const std::size_t pad = value.ciphertext.size() - size;  // |C| = L + n
    ASSERT_TRUE(is_valid_padding(pad, size)) << pad;
    seen.insert(pad);
  }
  EXPECT_EQ(seen.size(), 224u);  // every length 32..255
  EXPECT_EQ(*seen.begin(), 32u);
  EXPECT_EQ(*seen.rbegin(), 255u);
}

TEST(ValueCipher, EncryptWithChosenPaddingUsesIt) {
  const ValueSecret secret = ValueSecret::generate();
  ValueDecryptor decryptor;
  for (const std::size_t pad : {32u, 47u, 255u}) {
    const std::size_t size = (16 - pad % 16) % 16 + 16;
    const auto plaintext = random_bytes(size);
    const auto value = encrypt_value(plaintext, secret, pad);
    EXPECT_EQ(value.ciphertext.size(), pad + size);
    EXPECT_EQ(to_vector(decryptor.decrypt(value.ciphertext, value.hash, secret).reveal()),
              plaintext);
  }
}

TEST(ValueCipher, RejectsPaddingsAnEncoderMustNotUse) {
  const ValueSecret secret = ValueSecret::generate();
  EXPECT_THROW((void)encrypt_value(random_bytes(16), secret, 16), std::invalid_argument);
  EXPECT_THROW((void)encrypt_value(random_bytes(16), secret, 33), std::invalid_argument);
  EXPECT_THROW((void)encrypt_value(random_bytes(1), secret, 271), std::invalid_argument);
}

TEST(ValueCipher, AcceptsPaddingThatFillsTheWholeValueAsTdlibDoes) {
  const auto secret_bytes = random_bytes(32);
  ValueDecryptor decryptor;
  for (const std::size_t pad : {32u, 48u, 240u}) {
    auto padded = random_bytes(pad);
    padded[0] = static_cast<std::uint8_t>(pad);
    const auto value = craft_value(padded, secret_bytes);
    EXPECT_EQ(decryptor.decrypt(value.ciphertext, value.hash, secret_of(secret_bytes)).size(), 0u);
  }
  const auto ours = encrypt_value({}, secret_of(secret_bytes));
  EXPECT_EQ(decryptor.decrypt(ours.ciphertext, ours.hash, secret_of(secret_bytes)).size(), 0u);
}

TEST(ValueCipher, OneDecryptorServesManyValuesWithDifferentSecrets) {
  ValueDecryptor decryptor;
  for (int i = 0; i < 50; ++i) {
    const auto plaintext = random_bytes(static_cast<std::size_t>(i * 97));
    const ValueSecret secret = ValueSecret::generate();
    const auto value = encrypt_value(plaintext, secret);
    EXPECT_EQ(to_vector(decryptor.decrypt(value.ciphertext, value.hash, secret).reveal()),
              plaintext);
  }
}

TEST(ValueCipher, DecryptIntoRefusesAnOutputBufferTooSmall) {
  const ValueSecret secret = ValueSecret::generate();
  const auto value = encrypt_value(random_bytes(10), secret);
  std::vector<std::uint8_t> out(value.ciphertext.size() - 1);
  ValueDecryptor decryptor;
  EXPECT_THROW((void)decryptor.decrypt_into(value.ciphertext, value.hash, secret, out),
               std::invalid_argument);
}

// ---- bad input: one message for every cause --------------------------------------------

class ValueCipherBadInput : public ::testing::Test {
 protected:
  ValueCipherBadInput()
      : plaintext_(bytes_of(R"({"first_name":"Zoë"})")),
        secret_(ValueSecret::generate()),
        value_(encrypt_value(plaintext_, secret_)) {}

  // Decrypts and returns the error message; fails the test if it decrypts.
  std::string failure(std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> hash,
                      const ValueSecret& secret) {
    std::vector<std::uint8_t> out(ciphertext.size() + 16, 0xaa);
    try {
      (void)decryptor_.decrypt_into(ciphertext, hash, secret, out);
    } catch (const DecryptError& e) {
      return e.what();
    }
    ADD_FAILURE() << "decrypted";
    return {};
  }

  std::vector<std::uint8_t> plaintext_;
  ValueSecret secret_;
  EncryptedValue value_;
  ValueDecryptor decryptor_;
};

TEST_F(ValueCipherBadInput, EmptyCiphertext) {
  EXPECT_EQ(failure({}, value_.hash, secret_), "decryption failed");
}

TEST_F(ValueCipherBadInput, CiphertextNotAMultipleOf16) {
  auto odd = value_.ciphertext;
  odd.pop_back();
  EXPECT_EQ(failure(odd, value_.hash, secret_), "decryption failed");
  odd = value_.ciphertext;
  odd.push_back(0);
  EXPECT_EQ(failure(odd, value_.hash, secret_), "decryption failed");
}

TEST_F(ValueCipherBadInput, TruncatedByABlock) {
  const auto truncated = std::span(value_.ciphertext).first(value_.ciphertext.size() - 16);
  EXPECT_EQ(failure(truncated, value_.hash, secret_), "decryption failed");
}

TEST_F(ValueCipherBadInput, FlippedBitAnywhereInTheCiphertext) {
  for (const std::size_t at :
       {std::size_t{0}, value_.ciphertext.size() / 2, value_.ciphertext.size() - 1}) {
    auto flipped = value_.ciphertext;
    flipped[at] ^= 0x01;
    EXPECT_EQ(failure(flipped, value_.hash, secret_), "decryption failed") << at;
  }
}

TEST_F(ValueCipherBadInput, FlippedBitInTheHash) {
  auto hash = value_.hash;
  hash[31] ^= 0x80;
  EXPECT_EQ(failure(value_.ciphertext, hash, secret_), "decryption failed");
}

TEST_F(ValueCipherBadInput, HashOfTheWrongSize) {
  auto hash = value_.hash;
  hash.pop_back();
  EXPECT_EQ(failure(value_.ciphertext, hash, secret_), "decryption failed");
  hash = value_.hash;
  hash.push_back(0);
  EXPECT_EQ(failure(value_.ciphertext, hash, secret_), "decryption failed");
}

TEST_F(ValueCipherBadInput, FlippedBitInTheSecret) {
  auto bytes = to_vector(secret_.reveal());
  bytes[5] ^= 0x04;
  EXPECT_EQ(failure(value_.ciphertext, value_.hash, secret_of(bytes)), "decryption failed");
}

TEST_F(ValueCipherBadInput, PaddingByteBelow32EvenWithAValidHash) {
  const auto secret_bytes = random_bytes(32);
  for (const std::uint8_t pad : {0, 1, 16, 31}) {
    auto padded = random_bytes(64);
    padded[0] = pad;
    const auto crafted = craft_value(padded, secret_bytes);
    EXPECT_EQ(failure(crafted.ciphertext, crafted.hash, secret_of(secret_bytes)),
              "decryption failed")
        << int{pad};
  }
}

TEST_F(ValueCipherBadInput, PaddingByteBeyondTheValueEvenWithAValidHash) {
  const auto secret_bytes = random_bytes(32);
  auto padded = random_bytes(64);
  padded[0] = 65;
  const auto crafted = craft_value(padded, secret_bytes);
  EXPECT_EQ(failure(crafted.ciphertext, crafted.hash, secret_of(secret_bytes)),
            "decryption failed");
}

TEST_F(ValueCipherBadInput, OutputIsWipedOnFailure) {
  auto flipped = value_.ciphertext;
  flipped.back() ^= 0x01;
  std::vector<std::uint8_t> out(flipped.size(), 0xaa);
  EXPECT_THROW((void)decryptor_.decrypt_into(flipped, value_.hash, secret_, out), DecryptError);
  EXPECT_EQ(out, std::vector<std::uint8_t>(out.size(), 0));
}

TEST_F(ValueCipherBadInput, DecryptorStillWorksAfterAFailure) {
  auto flipped = value_.ciphertext;
  flipped[0] ^= 0x01;
  (void)failure(flipped, value_.hash, secret_);
  EXPECT_EQ(to_vector(decryptor_.decrypt(value_.ciphertext, value_.hash, secret_).reveal()),
            plaintext_);
}

}  // namespace
}  // namespace idvault::vault
