#include "host/rpc/json_rpc.h"

#include <gtest/gtest.h>

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
  RpcRequest request = parse_request(R"({"jsonrpc":"2.0","id":7,"method":"status","params":{"x":1}})", id);
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
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":1,"method":"x","params":"s"})"), RpcCode::invalid_request);
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
  std::string line = format_error(5, RpcCode::wrong_pin, "wrong PIN, 2 tries left", json{{"tries_left", 2}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  json parsed = json::parse(line);
  EXPECT_EQ(parsed["error"]["code"], -32004);
  EXPECT_EQ(parsed["error"]["data"]["tries_left"], 2);
  EXPECT_EQ(parsed["id"], 5);
}

TEST(JsonRpc, InvalidUtf8InAnEchoedStringDoesNotStopTheAnswer) {
  std::string line = format_result(1, json("bad \xff byte"));
  EXPECT_NO_THROW({ json parsed = json::parse(line); (void)parsed; });
}
