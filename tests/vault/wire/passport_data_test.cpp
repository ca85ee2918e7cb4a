#include "vault/wire/passport_data.h"

#include <gtest/gtest.h>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

// Shaped like a Bot API update: 2018-era files (no file_unique_id, no file_size) next to
// current ones, and fields this reader does not know.
constexpr std::string_view kSample = R"({
  "data": [
    {"type": "personal_details", "data": "UERFQQ==", "hash": "aGFzaDE=", "future": 1},
    {"type": "passport", "data": "UEFTUw==",
     "front_side": {"file_id": "F1", "file_date": 1534080000},
     "selfie": {"file_id": "S1", "file_unique_id": "u-S1", "file_size": 1234, "file_date": 1534080001},
     "translation": [{"file_id": "T1", "file_unique_id": "u-T1", "file_date": 5}],
     "hash": "aGFzaDI="},
    {"type": "utility_bill", "files": [{"file_id": "B1", "file_date": 7}, {"file_id": "B2", "file_date": 8}],
     "hash": "aGFzaDM="},
    {"type": "phone_number", "phone_number": "491701234567", "hash": "aGFzaDQ="},
    {"type": "email", "email": "a@b.c", "hash": "opaque, not even base64"}
  ],
  "credentials": {"data": "Q1JFRA==", "hash": "SEFTSA==", "secret": "U0VDUg==", "x": null}
})";

TEST(PassportData, ReadsTheBotApiShapeTolerantly) {
  const PassportData pd = parse_passport_data(kSample);
  ASSERT_EQ(pd.data.size(), 5u);
  EXPECT_EQ(pd.data[0].type, ElementType::personal_details);
  EXPECT_EQ(pd.data[0].data, "UERFQQ==");
  const auto& passport = pd.data[1];
  ASSERT_TRUE(passport.front_side && passport.selfie);
  EXPECT_EQ(passport.front_side->file_id, "F1");
  EXPECT_FALSE(passport.front_side->file_unique_id);
  EXPECT_EQ(passport.front_side->file_size, 0);
  EXPECT_EQ(passport.front_side->file_date, 1534080000);
  EXPECT_EQ(passport.selfie->file_unique_id, "u-S1");
  EXPECT_EQ(passport.selfie->file_size, 1234);
  EXPECT_FALSE(passport.reverse_side);
  ASSERT_EQ(passport.translation.size(), 1u);
  ASSERT_EQ(pd.data[2].files.size(), 2u);
  EXPECT_EQ(pd.data[2].files[1].file_id, "B2");
  EXPECT_EQ(pd.data[3].phone_number, "491701234567");
  EXPECT_EQ(pd.data[4].email, "a@b.c");
  EXPECT_EQ(pd.data[4].hash, "opaque, not even base64");  // echoed, never decoded
  EXPECT_EQ(pd.credentials.data, "Q1JFRA==");
  EXPECT_EQ(pd.credentials.hash, "SEFTSA==");
  EXPECT_EQ(pd.credentials.secret, "U0VDUg==");
}

TEST(PassportData, WritesBotApiKeyOrderAndOmitsUnknownMetadata) {
  const PassportData pd = parse_passport_data(kSample);
  EXPECT_EQ(
      to_json(pd.data[1]).dump(),
      R"({"type":"passport","data":"UEFTUw==","front_side":{"file_id":"F1","file_date":1534080000},)"
      R"("selfie":{"file_id":"S1","file_unique_id":"u-S1","file_size":1234,"file_date":1534080001},)"
      R"("translation":[{"file_id":"T1","file_unique_id":"u-T1","file_date":5}],"hash":"aGFzaDI="})");
  EXPECT_EQ(
      to_json(pd.data[2]).dump(),
      R"({"type":"utility_bill","files":[{"file_id":"B1","file_date":7},{"file_id":"B2","file_date":8}],)"
      R"("hash":"aGFzaDM="})");
  EXPECT_EQ(to_json(pd.data[3]).dump(),
            R"({"type":"phone_number","phone_number":"491701234567","hash":"aGFzaDQ="})");
  EXPECT_EQ(to_json(pd.credentials).dump(),
            R"({"data":"Q1JFRA==","hash":"SEFTSA==","secret":"U0VDUg=="})");
  const auto whole = to_json(pd);
  EXPECT_EQ(whole.begin().key(), "data");
}

TEST(PassportData, RoundTripsThroughItsOwnOutput) {
  const PassportData pd = parse_passport_data(kSample);
  const std::string once = to_json(pd).dump();
  EXPECT_EQ(to_json(parse_passport_data(once)).dump(), once);
}

std::string where_of(std::string_view text) {
  try {
    (void)parse_passport_data(text);
  } catch (const FormatError& e) {
    return e.where();
  }
  return "accepted";
}

std::string with_element(const std::string& element) {
  return R"({"data":[)" + element + R"(],"credentials":{"data":"","hash":"","secret":""}})";
}

TEST(PassportData, RejectsMalformedJsonNamingThePath) {
  EXPECT_EQ(where_of(""), "passport_data");
  EXPECT_EQ(where_of("{\"data\":[}"), "passport_data");
  EXPECT_EQ(where_of("[]"), "passport_data");
  EXPECT_EQ(where_of(R"({"credentials":{"data":"","hash":"","secret":""}})"), "passport_data.data");
  EXPECT_EQ(where_of(R"({"data":{},"credentials":{}})"), "passport_data.data");
  EXPECT_EQ(where_of(R"({"data":[]})"), "passport_data.credentials");
  EXPECT_EQ(where_of(R"({"data":[],"credentials":{"data":"","hash":""}})"),
            "passport_data.credentials.secret");
  EXPECT_EQ(where_of(R"({"data":[],"credentials":{"data":1,"hash":"","secret":""}})"),
            "passport_data.credentials.data");
  EXPECT_EQ(where_of(with_element("3")), "passport_data.data[0]");
  EXPECT_EQ(where_of(with_element(R"({"hash":"h"})")), "passport_data.data[0].type");
  EXPECT_EQ(where_of(with_element(R"({"type":"diploma","hash":"h"})")),
            "passport_data.data[0].type");
  EXPECT_EQ(where_of(with_element(R"({"type":"address","hash":"h"})")),
            "passport_data.data[0] (address).data");
  EXPECT_EQ(where_of(with_element(R"({"type":"address","data":5,"hash":"h"})")),
            "passport_data.data[0] (address).data");
  EXPECT_EQ(where_of(with_element(R"({"type":"email","hash":"h"})")),
            "passport_data.data[0] (email).email");
  EXPECT_EQ(
      where_of(with_element(
          R"({"type":"utility_bill","data":"AAAA","files":[{"file_id":"a","file_date":1}],"hash":"h"})")),
      "passport_data.data[0] (utility_bill).data");
}

// Older Bot API data has no element hash (the Bot API server adds it); python-telegram-bot
// reads such data, so we do, and write it back without one rather than an empty one.
TEST(PassportData, ReadsAnElementWithoutHash) {
  const PassportData pd = parse_passport_data(with_element(R"({"type":"address","data":"AAAA"})"));
  ASSERT_EQ(pd.data.size(), 1u);
  EXPECT_FALSE(pd.data[0].hash);
  EXPECT_EQ(to_json(pd.data[0]).dump(), R"({"type":"address","data":"AAAA"})");
  EXPECT_EQ(where_of(with_element(R"({"type":"address","data":"AAAA","hash":5})")),
            "passport_data.data[0] (address).hash");
}

TEST(PassportData, EnforcesWhichFileSlotsATypeCarries) {
  const std::string file = R"({"file_id":"a","file_date":1})";
  EXPECT_EQ(where_of(with_element(R"({"type":"passport","data":"AAAA","hash":"h"})")),
            "passport_data.data[0] (passport).front_side");
  EXPECT_EQ(where_of(with_element(R"({"type":"passport","data":"AAAA","front_side":)" + file +
                                  R"(,"reverse_side":)" + file + R"(,"hash":"h"})")),
            "passport_data.data[0] (passport).reverse_side");
  EXPECT_EQ(where_of(with_element(R"({"type":"address","data":"AAAA","selfie":)" + file +
                                  R"(,"hash":"h"})")),
            "passport_data.data[0] (address).selfie");
  EXPECT_EQ(where_of(with_element(R"({"type":"bank_statement","files":[],"hash":"h"})")),
            "passport_data.data[0] (bank_statement).files");
  EXPECT_EQ(
      where_of(with_element(R"({"type":"bank_statement","files":[{"file_date":1}],"hash":"h"})")),
      "passport_data.data[0] (bank_statement).files[0].file_id");
  EXPECT_EQ(
      where_of(with_element(
          R"({"type":"bank_statement","files":[{"file_id":"x","file_date":"1"}],"hash":"h"})")),
      "passport_data.data[0] (bank_statement).files[0].file_date");
  EXPECT_EQ(
      where_of(with_element(
          R"({"type":"bank_statement","files":[{"file_id":"x","file_date":1,"file_size":"9"}],"hash":"h"})")),
      "passport_data.data[0] (bank_statement).files[0].file_size");
}

TEST(PassportData, RejectsATypeGivenTwice) {
  const std::string element = R"({"type":"email","email":"a@b.c","hash":"h"})";
  EXPECT_EQ(where_of(with_element(element + "," + element)), "passport_data.data[1].type");
}

}  // namespace
}  // namespace idvault::vault
