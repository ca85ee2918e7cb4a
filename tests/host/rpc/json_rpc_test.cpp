#include "host/rpc/json_rpc.h"

#include <gtest/gtest.h>

#include "host/rpc/compact_json.h"

using namespace idvault::rpc;
using nlohmann::json;

namespace {
RpcCode code_of(std::string_view line) {
  json id;
  try {
    (void)parse_request(line, id);
  } catch (const RpcError& error) {
    return error.code();
  }
  ADD_FAILURE() << "accepted: " << line;
  return RpcCode::internal_error;
}
}  // namespace

TEST(JsonRpc, ParsesARequest) {
  json id;
  RpcRequest request =
      parse_request(R"({"jsonrpc":"2.0","id":7,"method":"status","params":{"x":1}})", id);
  EXPECT_EQ(request.method, "status");
  EXPECT_EQ(request.id, 7);
  EXPECT_EQ(request.params["x"], 1);
  EXPECT_FALSE(request.is_notification);
}

TEST(JsonRpc, ANotificationHasNoId) {
  json id;
  EXPECT_TRUE(parse_request(R"({"jsonrpc":"2.0","method":"lock"})", id).is_notification);
}

TEST(JsonRpc, RejectsWhatIsNotARequest) {
  EXPECT_EQ(code_of("{"), RpcCode::parse_error);
  EXPECT_EQ(code_of("\xff\xfe"), RpcCode::parse_error);
  EXPECT_EQ(code_of("[1,2]"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"id":1,"method":"x"})"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"jsonrpc":"1.0","id":1,"method":"x"})"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":1,"method":""})"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":1,"method":3})"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":{},"method":"x"})"), RpcCode::invalid_request);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":1,"method":"x","params":"s"})"),
            RpcCode::invalid_request);
}

TEST(JsonRpc, ErrorKeepsTheIdItCouldRead) {
  json id;
  try {
    (void)parse_request(R"({"jsonrpc":"1.0","id":"abc","method":"x"})", id);
    FAIL();
  } catch (const RpcError&) {
    EXPECT_EQ(id, "abc");
  }
}

TEST(JsonRpc, FormatsOneCompactLine) {
  std::string line =
      format_error(5, RpcCode::wrong_pin, "wrong PIN, 2 tries left", json{{"tries_left", 2}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  json parsed = json::parse(line);
  EXPECT_EQ(parsed["error"]["code"], -32004);
  EXPECT_EQ(parsed["error"]["data"]["tries_left"], 2);
  EXPECT_EQ(parsed["id"], 5);
}

TEST(JsonRpc, InvalidUtf8InAnEchoedStringDoesNotStopTheAnswer) {
  std::string line = format_result(1, json("bad \xff byte"));
  EXPECT_NO_THROW({
    json parsed = json::parse(line);
    (void)parsed;
  });
}

TEST(CompactJson, WritesWhatNlohmannDumpWrites) {
  const json values[] = {
      json::parse(
          R"({"b":[1,-2,3.5,1e300,true,false,null],"a":{"z":"","y":{}},"c":[],"d":"plain text"})"),
      json("quote \" backslash \\ slash / tab \t newline \n nul " + std::string(1, '\0') +
           " del \x7f"),
      json("unicode \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 and control \x01\x1f"),
      json("invalid \xff\xfe utf-8 \xc3"),  // replaced, not thrown
      json::object({{"k\"ey\n", "v"},
                    {"\xff", json::array({"\x01", 18446744073709551615u, -9223372036854775807})}}),
      json(std::string(100000, 'A') + "+/="),  // base64: the fast path
      json::array(),
      json::object(),
      json(0.1),
  };
  for (const json& value : values) {
    std::string out = "prefix:";
    append_compact_json(value, out);
    EXPECT_EQ(out, "prefix:" + value.dump(-1, ' ', false, json::error_handler_t::replace))
        << value.dump(-1, ' ', true, json::error_handler_t::replace).substr(0, 200);
  }
}

TEST(CompactJson, AResultIsMovedIntoTheAnswerNotCopied) {
  json result = {{"files", json::array({std::string(1 << 20, 'Q')})}};
  const std::string line = format_result(3, std::move(result));
  EXPECT_EQ(json::parse(line)["result"]["files"][0].get_ref<const std::string&>().size(), 1u << 20);
  EXPECT_EQ(line, json({{"jsonrpc", "2.0"},
                        {"id", 3},
                        {"result", {{"files", json::array({std::string(1 << 20, 'Q')})}}}})
                          .dump() +
                      "\n");
}
