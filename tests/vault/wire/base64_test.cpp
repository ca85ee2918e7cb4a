#include "common/base64.h"

#include <gtest/gtest.h>

#include "tests/vault/wire/sample_passport.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using testing::bytes_of;

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(bytes_of("")), "");
  EXPECT_EQ(base64_encode(bytes_of("f")), "Zg==");
  EXPECT_EQ(base64_encode(bytes_of("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(bytes_of("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(bytes_of("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(bytes_of("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(bytes_of("foobar")), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0xfb, 0xff, 0xbf}), "+/+/");
}

TEST(Base64, DecodesRfc4648Vectors) {
  EXPECT_EQ(base64_decode("", "t"), bytes_of(""));
  EXPECT_EQ(base64_decode("Zg==", "t"), bytes_of("f"));
  EXPECT_EQ(base64_decode("Zm8=", "t"), bytes_of("fo"));
  EXPECT_EQ(base64_decode("Zm9v", "t"), bytes_of("foo"));
  EXPECT_EQ(base64_decode("Zm9vYmFy", "t"), bytes_of("foobar"));
  EXPECT_EQ(base64_decode("+/+/", "t"), (std::vector<std::uint8_t>{0xfb, 0xff, 0xbf}));
}

TEST(Base64, RoundTripsEveryLengthUpTo300) {
  for (std::size_t size = 0; size <= 300; ++size) {
    const auto bytes = testing::random_bytes(size);
    const std::string text = base64_encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    EXPECT_EQ(base64_decode(text, "t"), bytes) << size;
    EXPECT_TRUE(base64_decode_secret(text, "t").equals(bytes)) << size;
  }
}

void expect_rejected(std::string_view text) {
  try {
    (void)base64_decode(text, "credentials.hash");
    ADD_FAILURE() << "accepted \"" << text << "\"";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), "credentials.hash") << text;
  }
}

TEST(Base64, RejectsLengthsThatAreNotAMultipleOfFour) {
  expect_rejected("Z");
  expect_rejected("Zg=");
  expect_rejected("Zm9");
  expect_rejected("Zm9vY");
}

TEST(Base64, RejectsCharactersOutsideTheStandardAlphabet) {
  expect_rejected("Zm9v!A==");
  expect_rejected("Zm 9");
  expect_rejected("Zm9v\nYmFy");
  expect_rejected("-_-_");  // URL-safe alphabet
  expect_rejected(std::string_view("Zm\0v", 4));
}

TEST(Base64, RejectsMisplacedPadding) {
  expect_rejected("====");
  expect_rejected("Z===");
  expect_rejected("=Zm9");
  expect_rejected("Zg==Zg==");
  expect_rejected("Zm=v");
}

// Issue 13.19: the bits after the last byte must be zero (RFC 4648 §3.5), or two texts
// ("Zh==" and "Zg==") decode to the same bytes.
TEST(Base64, RejectsBitsSetAfterTheLastByte) {
  for (const char* bad : {"Zh==", "Zv==", "Zm9=", "Zm+=", "Zm9vYh==", "Zm9vYmH="}) {
    expect_rejected(bad);
  }
  EXPECT_EQ(base64_decode("Zg==", "t"), bytes_of("f"));
  EXPECT_EQ(base64_decode("Zm8=", "t"), bytes_of("fo"));
}

TEST(Base64, DecodeIntoRefusesAnOutputBufferTooSmall) {
  std::vector<std::uint8_t> out(2);
  EXPECT_THROW((void)base64_decode_into("Zm9v", out, "t"), std::invalid_argument);
}

TEST(Base64, DecodeIntoReturnsAPrefixOfTheBuffer) {
  std::vector<std::uint8_t> out(6, 0xee);
  const auto decoded = base64_decode_into("Zm8=", out, "t");
  EXPECT_EQ(decoded.data(), out.data());
  EXPECT_EQ(std::vector<std::uint8_t>(decoded.begin(), decoded.end()), bytes_of("fo"));
}

}  // namespace
}  // namespace idvault::vault
