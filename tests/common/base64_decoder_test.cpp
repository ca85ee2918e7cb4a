// The one strict base64 decoder every layer uses (common/base64.h), on what the bundle
// reader relies on: every length and padding round-trips, and only canonical base64 is
// accepted. RFC 4648 vectors are in tests/vault/wire/base64_test.cpp.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/base64.h"
#include "common/format_error.h"

namespace idvault {
namespace {

TEST(Base64Decoder, DecodesWhatItsEncoderWritesForEveryLengthAndPadding) {
  std::mt19937 random(11);
  for (std::size_t size = 0; size < 200; ++size) {
    std::vector<std::uint8_t> bytes(size);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    const std::string text = base64_encode(bytes);
    std::vector<std::uint8_t> out(base64_decoded_capacity(text.size()));
    const auto decoded = base64_decode_into(text, out, "t");
    EXPECT_EQ(std::vector<std::uint8_t>(decoded.begin(), decoded.end()), bytes) << size;
  }
}

TEST(Base64Decoder, RefusesWhatIsNotCanonicalBase64) {
  std::vector<std::uint8_t> out(64);
  for (const char* bad : {"QUJD=", "QU=D", "QUJ", "QU JD", "QUJD\n", "QUJ-", "QUJ_", "=QUJ",
                          "QQ==QUJD", "Q===", "====", "Ä"}) {
    EXPECT_THROW((void)base64_decode_into(bad, out, "files.x"), FormatError) << bad;
  }
}

TEST(Base64Decoder, NamesTheOffsetOfTheFirstBadCharacter) {
  std::vector<std::uint8_t> out(64);
  try {
    (void)base64_decode_into("QUJDQU-D", out, "files.x");
    FAIL() << "accepted a '-'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), "files.x");
    EXPECT_NE(std::string(e.what()).find("offset 6"), std::string::npos) << e.what();
  }
}

// Issue 13.19: "Zh==" and "Zg==" both decoded to "f"; only the canonical one (unused
// bits zero, RFC 4648 §3.5) is accepted.
TEST(Base64Decoder, RefusesBitsSetAfterTheLastByte) {
  std::vector<std::uint8_t> out(64);
  for (const char* bad : {"Zh==", "Zv==", "Zm9=", "Zm+=", "QUJDZh==", "QUJDZm9="}) {
    EXPECT_THROW((void)base64_decode_into(bad, out, "files.x"), FormatError) << bad;
  }
  const auto f = base64_decode_into("Zg==", out, "t");
  EXPECT_EQ(std::string(f.begin(), f.end()), "f");
  const auto fo = base64_decode_into("Zm8=", out, "t");
  EXPECT_EQ(std::string(fo.begin(), fo.end()), "fo");
}

}  // namespace
}  // namespace idvault
