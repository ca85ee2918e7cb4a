// PassportElementError: all nine kinds, the Bot API's read rules, and the type table.
#include "vault/model/element_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using nlohmann::json;
using T = ElementType;

// base64 of bytes 0..31 and 32..63 (python: base64.b64encode(bytes(range(32))))
constexpr const char* kHashA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kHashB = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
constexpr const char* kHash31 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==";
constexpr const char* kHash33 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";

Bytes bytes_from(std::uint8_t first) {
  Bytes bytes(32);
  std::iota(bytes.begin(), bytes.end(), first);
  return bytes;
}

FormatError read_error(const json& value) {
  try {
    static_cast<void>(parse_element_error(value));
  } catch (const FormatError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for " << value.dump();
  return FormatError("", "");
}

bool says(const FormatError& error, std::string_view text) {
  return std::string_view(error.what()).find(text) != std::string_view::npos;
}

// One valid Bot API object for each kind.
std::vector<json> one_of_each_kind() {
  return {
      {{"source", "data"},
       {"type", "personal_details"},
       {"field_name", "birth_date"},
       {"data_hash", kHashA},
       {"message", "Date of birth is unreadable"}},
      {{"source", "front_side"},
       {"type", "passport"},
       {"file_hash", kHashA},
       {"message", "Blurry"}},
      {{"source", "reverse_side"},
       {"type", "identity_card"},
       {"file_hash", kHashA},
       {"message", "Cut off"}},
      {{"source", "selfie"},
       {"type", "driver_license"},
       {"file_hash", kHashA},
       {"message", "Face hidden"}},
      {{"source", "file"}, {"type", "utility_bill"}, {"file_hash", kHashA}, {"message", "Too old"}},
      {{"source", "files"},
       {"type", "bank_statement"},
       {"file_hashes", {kHashA, kHashB}},
       {"message", "Wrong bank"}},
      {{"source", "translation_file"},
       {"type", "internal_passport"},
       {"file_hash", kHashA},
       {"message", "No stamp"}},
      {{"source", "translation_files"},
       {"type", "rental_agreement"},
       {"file_hashes", {kHashB}},
       {"message", "Unsigned"}},
      {{"source", "unspecified"},
       {"type", "email"},
       {"element_hash", kHashA},
       {"message", "Use a work e-mail"}},
  };
}

TEST(ElementError, EveryKindRoundTripsInBotApiShape) {
  for (const auto& original : one_of_each_kind()) {
    const auto parsed = parse_element_error(original);
    EXPECT_EQ(to_string(parsed.source), original["source"].get<std::string>());
    EXPECT_EQ(to_string(parsed.type), original["type"].get<std::string>());
    const json written = json::parse(to_json(parsed).dump());
    EXPECT_EQ(written, original) << original.dump();
    EXPECT_EQ(parse_element_error(written), parsed);
  }
}

TEST(ElementError, WritesKeysInBotApiOrder) {
  const auto parsed = parse_element_error(one_of_each_kind()[0]);
  EXPECT_EQ(
      to_json(parsed).dump(),
      std::string(
          R"({"source":"data","type":"personal_details","field_name":"birth_date","data_hash":")") +
          kHashA + R"(","message":"Date of birth is unreadable"})");
}

TEST(ElementError, DecodesHashesToBytes) {
  const auto data = parse_element_error(one_of_each_kind()[0]);
  ASSERT_EQ(data.hashes.size(), 1u);
  EXPECT_EQ(data.hashes[0], bytes_from(0));
  EXPECT_EQ(data.field_name, "birth_date");
  const auto files = parse_element_error(one_of_each_kind()[5]);
  EXPECT_EQ(files.hashes, (std::vector<Bytes>{bytes_from(0), bytes_from(32)}));
}

TEST(ElementError, MissingOrEmptySourceMeansUnspecified) {
  const auto missing =
      parse_element_error(json{{"type", "passport"}, {"element_hash", kHashA}, {"message", "m"}});
  EXPECT_EQ(missing.source, ErrorSource::unspecified);
  const auto empty = parse_element_error(
      json{{"source", ""}, {"type", "address"}, {"element_hash", kHashA}, {"message", "m"}});
  EXPECT_EQ(empty.source, ErrorSource::unspecified);
  EXPECT_EQ(to_json(empty)["source"], "unspecified");
}

TEST(ElementError, UnknownSourceIsWrongSourceSpecified) {
  const auto error = read_error(
      json{{"source", "back_side"}, {"type", "passport"}, {"file_hash", kHashA}, {"message", "m"}});
  EXPECT_EQ(error.where(), "error.source");
  EXPECT_TRUE(says(error, "wrong source specified"));
  EXPECT_EQ(read_error(json{{"source", 3}, {"type", "passport"}, {"message", "m"}}).where(),
            "error.source");
}

TEST(ElementError, TypeMustBeAllowedForTheSource) {
  const std::tuple<const char*, const char*, const char*> mismatches[] = {
      {"data", "utility_bill", "data_hash"},
      {"data", "phone_number", "data_hash"},
      {"front_side", "address", "file_hash"},
      {"front_side", "utility_bill", "file_hash"},
      {"reverse_side", "passport", "file_hash"},
      {"reverse_side", "internal_passport", "file_hash"},
      {"selfie", "utility_bill", "file_hash"},
      {"file", "passport", "file_hash"},
      {"files", "identity_card", "file_hashes"},
      {"translation_file", "personal_details", "file_hash"},
      {"translation_files", "email", "file_hashes"},
      {"translation_file", "address", "file_hash"},
  };
  for (const auto& [source, type, key] : mismatches) {
    json value = {{"source", source}, {"type", type}, {"message", "m"}, {"field_name", "x"}};
    value[key] = std::string_view(key) == "file_hashes" ? json::array({kHashA}) : json(kHashA);
    const auto error = read_error(value);
    EXPECT_EQ(error.where(), "error.type") << source << " " << type;
    EXPECT_TRUE(says(error, std::string("cannot be about ") + type)) << error.what();
  }
}

TEST(ElementError, SourceTableMatchesTheBotApi) {
  EXPECT_TRUE(source_allows(ErrorSource::data, T::address));
  EXPECT_TRUE(source_allows(ErrorSource::data, T::internal_passport));
  EXPECT_TRUE(source_allows(ErrorSource::reverse_side, T::driver_license));
  EXPECT_TRUE(source_allows(ErrorSource::files, T::temporary_registration));
  EXPECT_TRUE(source_allows(ErrorSource::translation_files, T::passport_registration));
  EXPECT_TRUE(source_allows(ErrorSource::translation_file, T::passport));
  for (const auto type : kAllElementTypes) {
    EXPECT_TRUE(source_allows(ErrorSource::unspecified, type));
  }
  int data_types = 0;
  for (const auto type : kAllElementTypes) data_types += source_allows(ErrorSource::data, type);
  EXPECT_EQ(data_types, 6);
}

TEST(ElementError, HashesMustBeBase64Of32Bytes) {
  for (const char* bad :
       {kHash31, kHash33, "not base64!", "", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}) {
    const auto error = read_error(
        json{{"source", "selfie"}, {"type", "passport"}, {"file_hash", bad}, {"message", "m"}});
    EXPECT_EQ(error.where(), "error.file_hash") << bad;
  }
  EXPECT_EQ(
      read_error(
          json{{"source", "selfie"}, {"type", "passport"}, {"file_hash", 5}, {"message", "m"}})
          .where(),
      "error.file_hash");
  EXPECT_EQ(read_error(json{{"source", "selfie"}, {"type", "passport"}, {"message", "m"}}).where(),
            "error.file_hash");
  EXPECT_EQ(read_error(json{{"source", "unspecified"},
                            {"type", "email"},
                            {"element_hash", kHash31},
                            {"message", "m"}})
                .where(),
            "error.element_hash");
}

TEST(ElementError, FileHashListsMustBeNonEmptyArraysOfValidHashes) {
  auto error = read_error(json{{"source", "files"},
                               {"type", "utility_bill"},
                               {"file_hashes", json::array()},
                               {"message", "m"}});
  EXPECT_EQ(error.where(), "error.file_hashes");
  EXPECT_TRUE(says(error, "at least one"));
  error = read_error(json{{"source", "translation_files"},
                          {"type", "passport"},
                          {"file_hashes", kHashA},
                          {"message", "m"}});
  EXPECT_EQ(error.where(), "error.file_hashes");
  error = read_error(json{{"source", "files"},
                          {"type", "utility_bill"},
                          {"file_hashes", {kHashA, kHash31}},
                          {"message", "m"}});
  EXPECT_EQ(error.where(), "error.file_hashes[1]");
}

TEST(ElementError, TypeAndMessageAreRequired) {
  EXPECT_EQ(read_error(json{{"source", "unspecified"}, {"element_hash", kHashA}, {"message", "m"}})
                .where(),
            "error.type");
  EXPECT_EQ(
      read_error(json{{"type", "passports"}, {"element_hash", kHashA}, {"message", "m"}}).where(),
      "error.type");
  EXPECT_EQ(read_error(json{{"type", "passport"}, {"element_hash", kHashA}}).where(),
            "error.message");
  EXPECT_EQ(
      read_error(json{{"type", "passport"}, {"element_hash", kHashA}, {"message", 1}}).where(),
      "error.message");
  EXPECT_EQ(read_error(json::array()).where(), "error");
}

TEST(ElementError, DataFieldNameUnknownIsReadButNotWritten) {
  const json value = {{"source", "data"},
                      {"type", "passport"},
                      {"field_name", "number"},
                      {"data_hash", kHashA},
                      {"message", "m"}};
  const auto parsed = parse_element_error(value);  // tolerated, as TDLib does
  EXPECT_EQ(parsed.field_name, "number");
  try {
    static_cast<void>(to_json(parsed));
    ADD_FAILURE() << "wrote an unknown field name";
  } catch (const FormatError& error) {
    EXPECT_EQ(error.where(), "error.field_name");
    EXPECT_TRUE(says(error, "\"number\" is not a data field of passport"));
  }
  EXPECT_THROW(validate_element_error(parsed, Strictness::own_output), FormatError);
  EXPECT_NO_THROW(validate_element_error(parsed, Strictness::peer_input));
}

TEST(ElementError, DataFieldNameMustBeGivenAndMatchTheType) {
  EXPECT_EQ(
      read_error(
          json{{"source", "data"}, {"type", "address"}, {"data_hash", kHashA}, {"message", "m"}})
          .where(),
      "error.field_name");
  EXPECT_EQ(read_error(json{{"source", "data"},
                            {"type", "address"},
                            {"field_name", ""},
                            {"data_hash", kHashA},
                            {"message", "m"}})
                .where(),
            "error.field_name");
  PassportElementError error;
  error.source = ErrorSource::data;
  error.type = T::address;
  error.field_name = "birth_date";  // a personal_details field, not an address one
  error.hashes = {bytes_from(0)};
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);
  error.field_name = "post_code";
  EXPECT_EQ(to_json(error)["field_name"], "post_code");
}

TEST(ElementError, BuiltErrorsAreCheckedBeforeWriting) {
  PassportElementError error;
  error.source = ErrorSource::front_side;
  error.type = T::passport;
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);  // no hash
  error.hashes = {bytes_from(0), bytes_from(32)};
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);  // two hashes for one file
  error.hashes = {Bytes(31)};
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);
  error.hashes = {bytes_from(0)};
  error.field_name = "document_no";
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);  // only data errors name a field
  error.field_name.clear();
  error.message = "bad \xff";
  EXPECT_THROW(static_cast<void>(to_json(error)), FormatError);
  error.message = "Photo is blurry";
  EXPECT_EQ(to_json(error)["file_hash"], kHashA);
}

TEST(ElementErrors, ArrayPositionsAreNamed) {
  json list = json::array();
  for (const auto& value : one_of_each_kind()) list.push_back(value);
  EXPECT_EQ(parse_element_errors(list).size(), 9u);
  list[3]["type"] = "address";
  try {
    static_cast<void>(parse_element_errors(list));
    ADD_FAILURE() << "accepted a selfie error about an address";
  } catch (const FormatError& error) {
    EXPECT_EQ(error.where(), "errors[3].type");
  }
  EXPECT_THROW(static_cast<void>(parse_element_errors(json::object())), FormatError);
  EXPECT_THROW(static_cast<void>(parse_element_errors(std::string_view("[{"))), FormatError);
}

TEST(ElementErrors, TextRoundTripsThroughTheArrayWriter) {
  json list = json::array();
  for (const auto& value : one_of_each_kind()) list.push_back(value);
  const auto parsed = parse_element_errors(std::string_view(list.dump()));
  const auto written = to_json(std::span<const PassportElementError>(parsed));
  EXPECT_EQ(parse_element_errors(std::string_view(written.dump())), parsed);
  EXPECT_EQ(json::parse(written.dump()), list);
}

TEST(ElementError, UnknownKeysAreIgnored) {
  auto value = one_of_each_kind()[1];
  value["future"] = {{"x", 1}};
  EXPECT_NO_THROW(static_cast<void>(parse_element_error(value)));
}

}  // namespace
}  // namespace idvault::vault
