// The agent's fast parse of request lines must be indistinguishable from
// nlohmann::json::parse: same tree for every valid text, same refusal for every invalid
// one, whether or not long strings are involved.
#include "host/rpc/json_line_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/json_text_scanner.h"
#include "host/rpc/json_rpc.h"

using namespace idvault;
using namespace idvault::rpc;
using nlohmann::json;

namespace {

std::string base64ish(std::size_t size, char seed = 'A') {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text(size, '=');
  for (std::size_t i = 0; i < size; ++i)
    text[i] = kAlphabet[(i * 7 + static_cast<std::size_t>(seed)) % 64];
  return text;
}

void expect_same_as_nlohmann(const std::string& text) {
  const json expected = json::parse(text, nullptr, false);
  const json got = parse_json_line(text);
  ASSERT_EQ(got.is_discarded(), expected.is_discarded()) << text.substr(0, 200);
  if (!expected.is_discarded()) {
    EXPECT_EQ(got, expected) << text.substr(0, 200);
  }
}

std::string put_line(const std::string& file_text) {
  return R"({"jsonrpc":"2.0","id":3,"method":"element.put","params":{"type":"bank_statement","files":[")" +
         file_text + R"(","short"]}})";
}

}  // namespace

TEST(JsonTextScanner, FindsStringsAndNestedValuesWithoutBeingFooledByTheirContent) {
  JsonTextScanner scanner(R"( "a\"b" {"x":["}",{"y":"]"}]} 12.5e3, true)");
  JsonStringToken token = scanner.string_token();
  EXPECT_EQ(token.text, R"("a\"b")");
  EXPECT_FALSE(token.verbatim);
  EXPECT_EQ(scanner.value_token(), R"({"x":["}",{"y":"]"}]})");
  EXPECT_EQ(scanner.value_token(), "12.5e3");
  scanner.expect(',');
  EXPECT_EQ(scanner.value_token(), "true");
  EXPECT_TRUE(scanner.at_end());
}

TEST(JsonTextScanner, TellsWhichStringsCanBeTakenAsTheyAre) {
  const std::string plain = "\"" + base64ish(100) + "\"";
  EXPECT_TRUE(JsonTextScanner(plain).string_token().verbatim);
  EXPECT_EQ(JsonTextScanner(plain).string_token().content(), base64ish(100));
  EXPECT_FALSE(
      JsonTextScanner("\"" + base64ish(40) + "\\/" + base64ish(40) + "\"").string_token().verbatim);
  EXPECT_FALSE(JsonTextScanner("\"" + base64ish(40) + "\xc3\xa9" + "\"").string_token().verbatim);
}

TEST(JsonTextScanner, RefusesBrokenStrings) {
  EXPECT_THROW((void)JsonTextScanner("\"" + base64ish(100)).string_token(), JsonTextError);
  EXPECT_THROW(
      (void)JsonTextScanner("\"" + base64ish(20) + "\n" + base64ish(20) + "\"").string_token(),
      JsonTextError);
  EXPECT_THROW((void)JsonTextScanner(R"("ends in an escape\")").string_token(), JsonTextError);
  EXPECT_THROW((void)JsonTextScanner("123").string_token(), JsonTextError);
  EXPECT_THROW((void)JsonTextScanner("{\"a\":[1,2}").value_token(), JsonTextError);
  EXPECT_THROW(JsonTextScanner("x").expect(':'), JsonTextError);
  EXPECT_THROW((void)unescape_json_string(R"("bad \x escape")"), JsonTextError);
  EXPECT_EQ(unescape_json_string(R"("a\/b\u00e9")"), "a/b\xc3\xa9");
}

TEST(JsonLineParser, GivesTheSameTreeAsNlohmannForLongStrings) {
  const std::string file = base64ish(300000);
  expect_same_as_nlohmann(put_line(file));
  expect_same_as_nlohmann("\"" + file + "\"");  // a bare long string
  expect_same_as_nlohmann("[\"" + file + "\" , \"" + base64ish(2000, 'Q') + "\"]");
  expect_same_as_nlohmann("{\"" + base64ish(5000) + "\" : \"" + file +
                          "\"}");  // a long key stays a key
  expect_same_as_nlohmann(
      put_line(base64ish(2000) + "\\/\\n\\u00e9\\ud83d\\ude00" + base64ish(2000)));
  expect_same_as_nlohmann(put_line(base64ish(2000) + "\xc3\xa9\xe2\x82\xac" + base64ish(2000)));
  expect_same_as_nlohmann(put_line(base64ish(1023)));  // just under the cut
  expect_same_as_nlohmann(put_line(base64ish(1022)));
  expect_same_as_nlohmann(" {\"a\": [ \"" + file + "\" ] , \"b\":null}\r");
  // Long strings that contain \u0000 are values like any other.
  expect_same_as_nlohmann(put_line(base64ish(2000) + "\\u0000" + "1"));
}

TEST(JsonLineParser, AClientCannotForgeAPlaceholder) {
  // "\u00000" is what the parser puts in place of the first long string; sent by a
  // client beside a long string it must stay the client's own string.
  const std::string text = R"({"a":"\u00000","b":")" + base64ish(5000) + R"(","c":"\u00001"})";
  expect_same_as_nlohmann(text);
  const json parsed = parse_json_line(text);
  EXPECT_EQ(parsed["a"], std::string("\0"
                                     "0",
                                     2));
  EXPECT_EQ(parsed["b"], base64ish(5000));
}

TEST(JsonLineParser, RefusesWhatNlohmannRefuses) {
  const std::string file = base64ish(5000);
  for (const std::string& text : {
           put_line(file + "\\x"),              // bad escape in a long string
           put_line(file + "\xff\xfe"),         // invalid UTF-8 in a long string
           put_line(file + "\x01"),             // raw control character
           put_line(file + "\\ud800"),          // lone surrogate
           put_line(file).substr(0, 3000),      // cut inside the long string
           put_line(file).substr(0, 5100),      // cut after it
           put_line(file) + "x",                // trailing garbage
           "{\"a\":\"" + file + "\" \"b\":1}",  // missing comma
           "{\"a\":tru\"" + file + "\"}",       // bad literal before it
           "[12\"" + file + "\"]",              // number glued to it
           "\"" + file + "\":1",                // a long string where a key cannot be
       }) {
    expect_same_as_nlohmann(text);
    EXPECT_TRUE(parse_json_line(text).is_discarded()) << text.substr(0, 80);
  }
}

TEST(JsonLineParser, RefusesARawNulWhereNlohmannWouldStopReading) {
  // fuzz_rpc_frames found this: nlohmann takes a raw NUL for the end of input and accepts
  // the string before it, while the long-string path refused the same text. Both refuse.
  using namespace std::string_literals;  // "..."s keeps the embedded NULs
  const std::string file = base64ish(5000);
  for (const std::string& text : {
           "\":1nUln\"\0\0\0(\":\"a\",\"params\":{\"pin\":\"1234\"\x7f}\r\"1234\"\x7f}"s,  // as
                                                                                           // found
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\0{\"x\":1}"s,
           "{\"a\":1}\0"s,
           put_line(file) + "\0garbage"s,  // after a long string
           "{\"a\":\""s + file + "\"\0,\"b\":2}"s,
       }) {
    EXPECT_TRUE(parse_json_line(text).is_discarded()) << text.substr(0, 80);
    json id;
    EXPECT_THROW((void)parse_request(text, id), RpcError);
  }
}

// Issue 13.3: the one deliberate refusal nlohmann does not make. 200,000 nested arrays
// overflowed the agent's stack in a recursive copy; with a scan's long string cut out or
// not, more than 64 levels is refused, and the request gets a parse error saying why.
TEST(JsonLineParser, RefusesNestingDeeperThanSixtyFourLevels) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  for (const std::string& scan : {std::string("short"), base64ish(4096)}) {
    const auto line = [&](std::size_t depth) {
      return R"({"jsonrpc":"2.0","id":1,"method":"element.put","params":{"files":[")" + scan +
             R"("],"data":)" + nested(depth) + "}}";
    };
    EXPECT_FALSE(parse_json_line(line(62)).is_discarded());  // 64 with the two objects around
    EXPECT_TRUE(parse_json_line(line(63)).is_discarded());
    EXPECT_TRUE(parse_json_line(line(200'000)).is_discarded());
    json id;
    try {
      (void)parse_request(line(200'000), id);
      ADD_FAILURE() << "accepted";
    } catch (const RpcError& error) {
      EXPECT_EQ(error.code(), RpcCode::parse_error);
      EXPECT_NE(std::string(error.what()).find("nested deeper than 64 levels"), std::string::npos)
          << error.what();
    }
  }
}

TEST(JsonLineParser, AgreesWithNlohmannOnRandomDamage) {
  // One request with long strings, damaged many ways at random (seeded, so a failure
  // reproduces): the verdict and the tree must match nlohmann's every time.
  const std::string original =
      R"({"jsonrpc":"2.0","id":"x","method":"element.put","params":{"type":"passport","data":{"k":"v\u00e9"},"front_side":")" +
      base64ish(3000) + R"(","files":[")" + base64ish(1500, 'C') + R"(",")" + base64ish(2500, 'D') +
      R"("]}})";
  const std::string bytes = "\"\\{}[]:,\x01\xff u0n1";
  std::mt19937 random(20240611);
  for (int round = 0; round < 3000; ++round) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int i = 0; i < edits; ++i) {
      const std::size_t at = random() % text.size();
      switch (random() % 3) {
        case 0:
          text[at] = bytes[random() % bytes.size()];
          break;
        case 1:
          text.insert(at, 1, bytes[random() % bytes.size()]);
          break;
        default:
          text.erase(at, 1 + random() % 4);
          break;
      }
    }
    expect_same_as_nlohmann(text);
    if (HasFailure()) return;
  }
}

TEST(JsonRpc, ParsesARequestCarryingLongStrings) {
  json id;
  RpcRequest request = parse_request(put_line(base64ish(100000)), id);
  EXPECT_EQ(request.method, "element.put");
  EXPECT_EQ(id, 3);
  EXPECT_EQ(request.params["files"][0], base64ish(100000));
  EXPECT_EQ(request.params["files"][1], "short");
  json ignored;
  try {
    (void)parse_request(put_line(base64ish(100000)).substr(0, 50000), ignored);
    FAIL() << "a cut request was accepted";
  } catch (const RpcError& error) {
    EXPECT_EQ(error.code(), RpcCode::parse_error);
  }
}
