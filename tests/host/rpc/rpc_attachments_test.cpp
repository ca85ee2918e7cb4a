// Binary attachments after a request line (docs/AGENT.md, "Attachments") against the
// real server and sockets: what a client, or a hostile one, can observe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "host/rpc/agent_socket.h"
#include "host/rpc/rpc_server.h"
#include "tests/host/rpc/rpc_server_fixture.h"
#include "tests/host/rpc/rpc_test_client.h"

using namespace idvault::rpc;
using idvault::testing::Client;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpcAttachments : public idvault::testing::RpcServerFixture {
 protected:
  RpcAttachments() : RpcServerFixture("idvault-att") {}
  void SetUp() override {
    // "files" is a list of base64 strings or {"attachment":N}; answers what it got.
    const auto collect = [](json& params, const CallContext& context) {
      json got = json::array();
      for (std::size_t i = 0; i < params.at("files").size(); ++i) {
        const json& file = params["files"][i];
        if (file.is_string()) {
          got.push_back("b64:" + file.get<std::string>());
        } else {
          auto bytes =
              context.take_attachment(file.at("attachment"), "files[" + std::to_string(i) + "]");
          got.push_back("raw:" + std::string(bytes.reveal_text()));
        }
      }
      context.require_all_attachments_taken();
      return got;
    };
    methods_.add("collect", collect);
    methods_.accept_attachments("collect");
    methods_.add("echo", [](json& params, const CallContext&) { return params; });
  }
  static std::string request(const std::string& method, const json& params,
                             const std::string& attachments, int id = 1) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method +
           R"(","attachments":)" + attachments + R"(,"params":)" + params.dump() + "}\n";
  }
  json answer(Client& client) {
    const std::string line = client.read_line();
    return line.empty() ? json() : json::parse(line);
  }
};

json refs(std::initializer_list<int> indices) {
  json files = json::array();
  for (int i : indices) files.push_back({{"attachment", i}});
  return files;
}

}  // namespace

TEST_F(RpcAttachments, RoundTripOfBinaryBytesIncludingNewlinesAndNul) {
  start();
  Client client(socket_path_);
  const std::string first("a\nb\0c", 5);
  const std::string second(300000, '\n');  // many reads, all newlines: none may frame a line
  client.send(request("collect", {{"files", refs({1, 0})}}, "[5,300000]") + first + second);
  json got = answer(client);
  ASSERT_TRUE(got.contains("result")) << got.dump();
  EXPECT_EQ(got["result"][0], "raw:" + second);
  EXPECT_EQ(got["result"][1], "raw:" + first);
  // The connection frames lines again right after the attachments.
  EXPECT_EQ(client.call("echo", {{"after", 1}})["result"]["after"], 1);
}

TEST_F(RpcAttachments, MixedBase64AndAttachmentsAndPipelinedRequests) {
  start();
  Client client(socket_path_);
  json files = json::array({"QUJD", {{"attachment", 0}}});
  client.send(request("collect", {{"files", files}}, "[3]", 1) + "xyz" +
              request("collect", {{"files", refs({0})}}, "[2]", 2) + "pq");
  json one = answer(client);
  json two = answer(client);
  EXPECT_EQ(one["id"], 1);
  EXPECT_EQ(one["result"], json::array({"b64:QUJD", "raw:xyz"}));
  EXPECT_EQ(two["id"], 2);
  EXPECT_EQ(two["result"], json::array({"raw:pq"}));
}

TEST_F(RpcAttachments, PlainRequestsWithoutAttachmentsAreUnchanged) {
  start();
  Client client(socket_path_);
  // A string that mentions "attachments" is not an announcement.
  EXPECT_EQ(client.call("echo", {{"note", "\"attachments\":[5]"}})["result"]["note"],
            "\"attachments\":[5]");
  EXPECT_EQ(client.call("collect", {{"files", json::array({"QQ=="})}})["result"][0], "b64:QQ==");
}

TEST_F(RpcAttachments, BadAnnouncementsAreRefusedAndTheConnectionClosed) {
  start();
  for (const char* bad : {"[-1]", "[1.5]", "[\"4\"]", "4", "{\"a\":1}", "[null]"}) {
    Client client(socket_path_);
    client.send(request("collect", {{"files", refs({0})}}, bad) + "abcd");
    json error = answer(client);
    EXPECT_EQ(error["error"]["code"], -32600) << bad << " " << error.dump();
    EXPECT_TRUE(client.closed_by_server()) << bad;
  }
}

TEST_F(RpcAttachments, AnnouncementOverTheFrameLimitIsRefusedAndClosed) {
  RpcServerOptions options;
  options.max_frame_bytes = 4096;
  start(options);
  Client hostile(socket_path_);
  Client bystander(socket_path_);
  hostile.send(request("collect", {{"files", refs({0, 1})}}, "[2048,2048]"));  // + the line: over
  json error = answer(hostile);
  EXPECT_EQ(error["error"]["code"], -32001);
  EXPECT_TRUE(hostile.closed_by_server());
  Client huge(socket_path_);
  huge.send(request("collect", {{"files", refs({0})}}, "[18446744073709551615]"));
  EXPECT_EQ(answer(huge)["error"]["code"], -32001);
  EXPECT_TRUE(huge.closed_by_server());
  EXPECT_EQ(bystander.call("echo", {{"ok", true}})["result"]["ok"], true);
}

TEST_F(RpcAttachments, IndexOutOfRangeOrUnusedAttachmentIsAnErrorAndTheStreamStaysFramed) {
  start();
  Client client(socket_path_);
  client.send(request("collect", {{"files", refs({2})}}, "[1,1]") + "ab");
  json out_of_range = answer(client);
  EXPECT_EQ(out_of_range["error"]["code"], -32602);
  EXPECT_NE(out_of_range["error"]["message"].get<std::string>().find("not announced"),
            std::string::npos);
  client.send(request("collect", {{"files", refs({0})}}, "[1,1]") + "cd");
  json unused = answer(client);
  EXPECT_EQ(unused["error"]["code"], -32602);
  EXPECT_NE(unused["error"]["message"].get<std::string>().find("no parameter refers"),
            std::string::npos);
  client.send(request("collect", {{"files", refs({0, 0})}}, "[1]") + "e");
  EXPECT_EQ(answer(client)["error"]["code"], -32602);  // used twice
  client.send(request("echo", {{"x", 1}}, "[1]") + "f");
  EXPECT_EQ(answer(client)["error"]["code"], -32602);  // a method that takes none
  EXPECT_EQ(client.call("echo", {{"still", "framed"}})["result"]["still"], "framed");
}

TEST_F(RpcAttachments, TruncatedAttachmentThenCloseLeavesTheServerServing) {
  start();
  {
    Client client(socket_path_);
    client.send(request("collect", {{"files", refs({0})}}, "[100000]") + std::string(1000, 'x'));
    client.shutdown_sending();
    EXPECT_TRUE(client.closed_by_server());  // nothing to answer: the request never completed
  }
  Client next(socket_path_);
  EXPECT_EQ(next.call("echo", {{"ok", 2}})["result"]["ok"], 2);
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(RpcAttachments, AClientThatAnnouncesAndStallsDoesNotBlockOthers) {
  start();
  Client stalled(socket_path_);
  stalled.send(request("collect", {{"files", refs({0})}}, "[1000000]") + std::string(10, 'x'));
  Client other(socket_path_);
  EXPECT_EQ(other.call("echo", {{"fast", true}})["result"]["fast"], true);
  const std::string bytes(64, 'y');
  Client sender(socket_path_);
  sender.send(request("collect", {{"files", refs({0})}}, "[64]") + bytes);
  EXPECT_EQ(answer(sender)["result"][0], "raw:" + bytes);
}
