// The depth limit every parse of JSON from outside goes through (issue 13.3): nlohmann
// copies, compares and dumps trees recursively, so a text nesting 200,000 arrays (400 KB)
// overflowed the stack. Each vault entry point refuses it with a FormatError.
#include "common/json_fields.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/support/deep_json.h"
#include "vault/model/element_data.h"
#include "vault/model/element_error.h"
#include "vault/model/errors.h"
#include "vault/model/scope.h"
#include "vault/signed/share_receipt.h"
#include "vault/wire/credentials.h"
#include "vault/wire/passport_data.h"

namespace idvault::vault {
namespace {

using testing::nested_arrays;

std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += "{\"a\":";
  text += "1";
  text += std::string(depth, '}');
  return text;
}

TEST(JsonDepth, SixtyFourLevelsPassAndSixtyFiveDoNot) {
  EXPECT_FALSE(json_fields::nests_too_deep(nested_arrays(64)));
  EXPECT_TRUE(json_fields::nests_too_deep(nested_arrays(65)));
  EXPECT_FALSE(json_fields::nests_too_deep(nested_objects(64)));
  EXPECT_TRUE(json_fields::nests_too_deep(nested_objects(65)));
  EXPECT_TRUE(json_fields::nests_too_deep("[{\"a\":" + nested_arrays(64) + "}]"));
  // Siblings do not add up: depth is how far one goes in, not how many there are.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += nested_arrays(60) + ",";
  wide += "1]";
  EXPECT_FALSE(json_fields::nests_too_deep(wide));
  EXPECT_NO_THROW((void)json_fields::parse(wide, "t"));
}

TEST(JsonDepth, BracketsInsideStringsAreText) {
  const std::string brackets(1000, '[');
  EXPECT_FALSE(json_fields::nests_too_deep("{\"a\":\"" + brackets + "\"}"));
  EXPECT_FALSE(json_fields::nests_too_deep("[\"\\\"" + brackets + "\"]"));  // escaped quote
  EXPECT_FALSE(
      json_fields::nests_too_deep("[\"\\\\\",\"" + brackets + "\"]"));  // escaped backslash
  // An escaped backslash before the quote ends the string: what follows is structure.
  EXPECT_TRUE(json_fields::nests_too_deep("[\"\\\\\"," + nested_arrays(64) + "]"));
  EXPECT_NO_THROW((void)json_fields::parse("{\"a\":\"" + brackets + "\"}", "t"));
}

TEST(JsonDepth, ParseRefusesDeepTextWithAFormatErrorNamingWhere) {
  for (const std::string& text : {nested_arrays(), nested_objects(100'000), nested_arrays(65)}) {
    try {
      (void)json_fields::parse(text, "receipt");
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& error) {
      EXPECT_EQ(error.where(), "receipt");
      EXPECT_NE(std::string(error.what()).find("nested deeper than 64 levels"), std::string::npos);
    }
    EXPECT_THROW((void)json_fields::parse_ordered(text, "t"), FormatError);
  }
  EXPECT_EQ(json_fields::parse(nested_arrays(64), "t").dump(), nested_arrays(64));
}

TEST(JsonDepth, EveryVaultParserOfOutsideTextRefusesDeepNesting) {
  const std::string deep = nested_arrays();
  const std::string deep_member = "{\"data\":" + deep + "}";
  const std::vector<std::function<void()>> parsers = {
      [&] { (void)parse_passport_data(deep_member); },
      [&] { (void)parse_credentials(deep_member); },
      [&] { (void)parse_element_data(ElementType::address, std::string_view(deep_member)); },
      [&] { (void)parse_element_errors(std::string_view(deep)); },
      [&] { (void)parse_scope("{\"data\":" + nested_arrays(2000) + "}"); },
  };
  for (std::size_t i = 0; i < parsers.size(); ++i) {
    try {
      parsers[i]();
      ADD_FAILURE() << "parser " << i << " accepted";
    } catch (const FormatError& error) {
      EXPECT_NE(std::string(error.what()).find("nested deeper than 64 levels"), std::string::npos)
          << i << ": " << error.what();
    }
  }
}

// Issue 13.20: member names come from the sender; in an error's path they are escaped.
TEST(JsonFieldPath, KeysThatAreNotPlainNamesAreQuotedAndEscaped) {
  EXPECT_EQ(json_fields::path("receipt.elements", "personal_details"),
            "receipt.elements.personal_details");
  EXPECT_EQ(json_fields::path("", "files"), "files");
  EXPECT_EQ(json_fields::path("bundle.files", "\x1b[2Jx\n"), R"(bundle.files."\x1b[2Jx\x0a")");
  EXPECT_EQ(json_fields::path("a", "b.c"), R"(a."b.c")");
  try {
    (void)receipt_from_json({{"alg", "ES256"},
                             {"public_key", "QUJD"},
                             {"signature", "QUJD"},
                             {"signed",
                              {{"v", 1},
                               {"service_id", "s"},
                               {"service_key_sha256", "k"},
                               {"nonce", "n"},
                               {"credentials_hash", "h"},
                               {"previous", ""},
                               {"time", 1},
                               {"elements", {{"\x1b[31mred", 5}}}}}});
    ADD_FAILURE() << "accepted";
  } catch (const FormatError& error) {
    EXPECT_EQ(std::string(error.what()).find('\x1b'), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace idvault::vault
