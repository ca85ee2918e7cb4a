// The bundle reader's own parts: the splitter on the shapes real clients write (escapes,
// whitespace, key order) and on junk, and the files of a bare PassportData read from a
// directory. The base64 decoder it uses is tested in tests/common/.
#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.h"
#include "host/rp/share/bundle_text.h"
#include "host/rp/share/received_share.h"
#include "tests/support/temp_dir.h"
#include "vault/model/errors.h"

using namespace idvault;

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

namespace {

std::vector<std::uint8_t> bytes_of(const rp::ReceivedShare& share, const std::string& id) {
  const auto found = share.files.find(id);
  if (found == share.files.end()) return {};
  return {found->second.begin(), found->second.end()};
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A bare PassportData whose files are F (front side and, again, a translation), S (the
// selfie), B and gone (a utility bill's two pages; gone is not on disk).
constexpr std::string_view kBarePassportData = R"({"data":[
  {"type":"passport","data":"AAAA","front_side":{"file_id":"F","file_date":1},
   "selfie":{"file_id":"S","file_date":1},"translation":[{"file_id":"F","file_date":1}]},
  {"type":"utility_bill","files":[{"file_id":"B","file_date":1},{"file_id":"gone","file_date":1}]}],
  "credentials":{"data":"","hash":"","secret":""}})";

}  // namespace

TEST(ShareReader, ReadsEachFileOfADirectoryWholeAndReusesItsBuffer) {
  idvault::testing::TempDir dir("idvault-share-reader");
  std::vector<std::uint8_t> big(300'000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  write_bytes(dir / "F", {1, 2, 3});
  write_bytes(dir / "S", {});
  write_bytes(dir / "B", big);

  rp::ShareReader reader;
  const rp::ReceivedShare& first = reader.read(kBarePassportData, dir.path());
  EXPECT_EQ(bytes_of(first, "F"), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_TRUE(first.files.count("S"));
  EXPECT_TRUE(bytes_of(first, "S").empty());
  EXPECT_EQ(bytes_of(first, "B"), big);
  EXPECT_FALSE(first.files.count("gone"));  // left for the decryptor to report missing
  EXPECT_EQ(first.files.size(), 3u);

  // The next share reuses the reader's buffer; what it hands out is the new content.
  big.resize(1000);
  write_bytes(dir / "F", big);
  write_bytes(dir / "B", {9});
  const rp::ReceivedShare& second = reader.read(kBarePassportData, dir.path());
  EXPECT_EQ(bytes_of(second, "F"), big);
  EXPECT_EQ(bytes_of(second, "B"), (std::vector<std::uint8_t>{9}));
}

TEST(ShareReader, SaysWhichDirectoryEntryIsNotAFile) {
  idvault::testing::TempDir dir("idvault-share-reader");
  write_bytes(dir / "F", {1});
  write_bytes(dir / "S", {2});
  std::filesystem::create_directory(dir / "B");
  rp::ShareReader reader;
  try {
    (void)reader.read(kBarePassportData, dir.path());
    FAIL() << "a directory was read as a file";
  } catch (const vault::FormatError& e) {
    EXPECT_EQ(e.where(), "files_dir.\"B\"");
    EXPECT_NE(std::string(e.what()).find("is not a regular file"), std::string::npos) << e.what();
  }
}
