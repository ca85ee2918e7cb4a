// The bundle reader's own parts: the one-pass base64 decoder against OpenSSL's, and the
// splitter on the shapes real clients write (escapes, whitespace, key order) and on junk.
#include <gtest/gtest.h>

#include <random>

#include "host/rp/base64_block.h"
#include "host/rp/bundle_text.h"
#include "vault/base64.h"
#include "vault/errors.h"

using namespace idvault;

TEST(Base64Block, DecodesWhatTheVaultsDecoderDecodesForEveryLengthAndPadding) {
  std::mt19937 random(11);
  for (std::size_t size = 0; size < 200; ++size) {
    std::vector<std::uint8_t> bytes(size);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    const std::string text = vault::base64_encode(bytes);
    std::vector<std::uint8_t> out(text.size() / 4 * 3);
    const auto decoded = rp::decode_base64_block(text, out, "t");
    EXPECT_EQ(std::vector<std::uint8_t>(decoded.begin(), decoded.end()), bytes) << size;
  }
}

TEST(Base64Block, RefusesWhatIsNotCanonicalBase64) {
  std::vector<std::uint8_t> out(64);
  for (const char* bad : {"QUJD=", "QU=D", "QUJ", "QU JD", "QUJD\n", "QUJ-", "QUJ_", "=QUJ",
                          "QQ==QUJD", "Q===", "Ä"}) {
    EXPECT_THROW((void)rp::decode_base64_block(bad, out, "files.x"), vault::FormatError) << bad;
  }
}

// Issue 13.19: "Zh==" and "Zg==" both decoded to "f"; only the canonical one (unused
// bits zero, RFC 4648 §3.5) is accepted, as vault/base64.h does.
TEST(Base64Block, RefusesBitsSetAfterTheLastByte) {
  std::vector<std::uint8_t> out(64);
  for (const char* bad : {"Zh==", "Zv==", "Zm9=", "Zm+=", "QUJDZh==", "QUJDZm9="}) {
    EXPECT_THROW((void)rp::decode_base64_block(bad, out, "files.x"), vault::FormatError) << bad;
  }
  const auto f = rp::decode_base64_block("Zg==", out, "t");
  EXPECT_EQ(std::string(f.begin(), f.end()), "f");
  const auto fo = rp::decode_base64_block("Zm8=", out, "t");
  EXPECT_EQ(std::string(fo.begin(), fo.end()), "fo");
}

TEST(BundleText, SplitsMembersAndUnescapesFileStrings) {
  const std::string text =
      " {\n\"receipt\" : {\"a\":[1,{\"b\":\"}\"}]},\t\"files\":{\"f1\":\"QUJD\", "
      "\"f\\/2\":\"QU\\/D\"},"
      "\"passport_data\":{\"data\":[],\"credentials\":{}},\"extra\":null, \"attestations\":[] "
      "}\r\n";
  const rp::BundleText parts = rp::split_bundle_text(text);
  EXPECT_EQ(parts.passport_data, R"({"data":[],"credentials":{}})");
  EXPECT_EQ(parts.receipt, R"({"a":[1,{"b":"}"}]})");
  EXPECT_EQ(parts.attestations, "[]");
  ASSERT_EQ(parts.files.size(), 2u);
  EXPECT_EQ(parts.files[0].first, "f1");
  EXPECT_EQ(parts.files[0].second, "QUJD");
  EXPECT_EQ(parts.files[1].first, "f/2");
  EXPECT_EQ(parts.files[1].second, "QU/D");
}

TEST(BundleText, RefusesJunkWithAFormatError) {
  for (const char* bad : {"", "[]", "{", "{\"files\":[]}", "{\"files\":{\"a\":1}}",
                          "{\"files\":{},\"files\":{}}", "{\"passport_data\":{}} x", "{\"a\" 1}",
                          "{\"a\":\"unterminated}", "{\"files\":{\"a\":\"\x01\"}}"}) {
    EXPECT_THROW((void)rp::split_bundle_text(bad), vault::FormatError) << bad;
  }
}
