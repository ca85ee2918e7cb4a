// Files passed as open descriptors with a request line (docs/AGENT.md, "Attachments",
// "fd") against the real server and sockets: what a client, or a hostile one, can see,
// and that no descriptor outlives its request or its connection.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "host/rpc/rpc_server.h"
#include "tests/host/rpc/rpc_server_fixture.h"
#include "tests/host/rpc/rpc_test_client.h"

using namespace idvault::rpc;
using idvault::testing::Client;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

// Waits (bounded) for the server's descriptors to settle back to `expected`.
bool descriptors_return_to(std::size_t expected) {
  for (int i = 0; i < 200; ++i) {
    if (open_descriptors() == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return open_descriptors() == expected;
}

class RpcPassedFiles : public idvault::testing::RpcServerFixture {
 protected:
  RpcPassedFiles() : RpcServerFixture("idvault-fd") {}
  void SetUp() override {
    // "files": {"attachment":N} each; answers "raw:<bytes>" or "file:<contents>".
    methods_.add("collect", [](json& params, const CallContext& context) {
      json got = json::array();
      for (std::size_t i = 0; i < params.at("files").size(); ++i) {
        auto file = context.take_file(params["files"][i].at("attachment"),
                                      "files[" + std::to_string(i) + "]");
        if (auto* bytes = std::get_if<idvault::SecretBytes>(&file)) {
          got.push_back("raw:" + std::string(bytes->reveal_text()));
          continue;
        }
        auto& passed = std::get<PassedFile>(file);
        std::string contents(passed.size, '\0');
        if (::pread(passed.fd.get(), contents.data(), contents.size(), 0) !=
            static_cast<ssize_t>(contents.size())) {
          throw RpcError(RpcCode::invalid_params, "short read");
        }
        got.push_back("file:" + contents);
      }
      context.require_all_attachments_taken();
      return got;
    });
    methods_.accept_attachments("collect");
    // Takes byte attachments only (take_attachment), like every method before descriptors.
    methods_.add("bytes_only", [](json& params, const CallContext& context) {
      return std::string(
          context.take_attachment(params.at("file").at("attachment"), "file").reveal_text());
    });
    methods_.accept_attachments("bytes_only");
    methods_.add("echo", [](json& params, const CallContext&) { return params; });
  }
  void TearDown() override {
    for (int fd : files_) ::close(fd);
    RpcServerFixture::TearDown();
  }
  // A file in the test's directory holding `contents`, open read-only.
  int file_with(const std::string& contents) {
    const fs::path path = dir_ / ("f" + std::to_string(files_.size()));
    {
      const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      EXPECT_EQ(::write(out, contents.data(), contents.size()),
                static_cast<ssize_t>(contents.size()));
      ::close(out);
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    files_.push_back(fd);
    return fd;
  }
  static std::string request(const std::string& method, const json& params,
                             const std::string& attachments, int id = 1) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method +
           R"(","attachments":)" + attachments + R"(,"params":)" + params.dump() + "}\n";
  }
  static json answer(Client& client) {
    const std::string line = client.read_line();
    return line.empty() ? json() : json::parse(line);
  }
  static json refs(std::initializer_list<int> indices) {
    json files = json::array();
    for (int i : indices) files.push_back({{"attachment", i}});
    return files;
  }

  std::vector<int> files_;
};

TEST_F(RpcPassedFiles, PassedFilesAndBytesMixInAnnouncedOrder) {
  start();
  Client client(socket_path_);
  const std::string scan("a\nscan\0with NUL", 15);
  client.send_passing(request("collect", {{"files", refs({0, 1, 2})}}, R"(["fd",3,"fd"])") + "xyz",
                      {file_with(scan), file_with("second")});
  json got = answer(client);
  ASSERT_TRUE(got.contains("result")) << got.dump();
  EXPECT_EQ(got["result"], json::array({"file:" + scan, "raw:xyz", "file:second"}));
  EXPECT_EQ(client.call("echo", {{"after", 1}})["result"]["after"], 1);  // still framed
}

TEST_F(RpcPassedFiles, PipelinedLinesEachGetTheirOwnDescriptors) {
  start();
  Client client(socket_path_);
  // Two lines sent back to back: the server may read both, with both descriptors, at once.
  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])", 1),
                      {file_with("one")});
  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])", 2),
                      {file_with("two")});
  json first = answer(client);
  json second = answer(client);
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["result"], json::array({"file:one"}));
  EXPECT_EQ(second["id"], 2);
  EXPECT_EQ(second["result"], json::array({"file:two"}));
}

TEST_F(RpcPassedFiles, ADescriptorAnnouncedButNotPassedIsRefusedAndClosed) {
  start();
  Client client(socket_path_);
  client.send(request("collect", {{"files", refs({0})}}, R"(["fd"])"));
  json error = answer(client);
  EXPECT_EQ(error["error"]["code"], -32600) << error.dump();
  EXPECT_NE(error["error"]["message"].get<std::string>().find("1 descriptors announced, 0 passed"),
            std::string::npos)
      << error.dump();
  EXPECT_TRUE(client.closed_by_server());
  Client other(socket_path_);
  EXPECT_EQ(other.call("echo", {{"ok", true}})["result"]["ok"], true);
}

TEST_F(RpcPassedFiles, APipeOrAnEmptyFileIsAnErrorAndTheConnectionStaysUsable) {
  start();
  Client client(socket_path_);
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])"), {pipe_ends[0]});
  json pipe_error = answer(client);
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
  EXPECT_EQ(pipe_error["error"]["code"], -32602) << pipe_error.dump();
  EXPECT_NE(pipe_error["error"]["message"].get<std::string>().find("not a regular file"),
            std::string::npos);

  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])"), {file_with("")});
  json empty_error = answer(client);
  EXPECT_EQ(empty_error["error"]["code"], -32602) << empty_error.dump();
  EXPECT_NE(empty_error["error"]["message"].get<std::string>().find("empty"), std::string::npos);

  // A method that reads only bytes refuses a descriptor instead of misreading it.
  client.send_passing(request("bytes_only", {{"file", {{"attachment", 0}}}}, R"(["fd"])"),
                      {file_with("abc")});
  EXPECT_EQ(answer(client)["error"]["code"], -32602);

  // A passed descriptor no parameter refers to.
  client.send_passing(request("collect", {{"files", refs({0})}}, R"([2,"fd"])") + "ab",
                      {file_with("abc")});
  json unused = answer(client);
  EXPECT_EQ(unused["error"]["code"], -32602);
  EXPECT_NE(unused["error"]["message"].get<std::string>().find("no parameter refers"),
            std::string::npos);

  EXPECT_EQ(client.call("echo", {{"still", "framed"}})["result"]["still"], "framed");
}

TEST_F(RpcPassedFiles, PassedFilesCountAgainstTheFrameLimit) {
  RpcServerOptions options;
  options.max_frame_bytes = 4096;
  start(options);
  Client client(socket_path_);
  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])"),
                      {file_with(std::string(5000, 'x'))});
  json one = answer(client);
  EXPECT_EQ(one["error"]["code"], -32001) << one.dump();
  // Two files each under the limit, together over it with the line.
  client.send_passing(request("collect", {{"files", refs({0, 1})}}, R"(["fd","fd"])"),
                      {file_with(std::string(2500, 'x')), file_with(std::string(2500, 'y'))});
  EXPECT_EQ(answer(client)["error"]["code"], -32001);
  // Nothing was framed wrongly: the connection goes on.
  client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])"), {file_with("fits")});
  EXPECT_EQ(answer(client)["result"], json::array({"file:fits"}));
}

TEST_F(RpcPassedFiles, TooManyUnclaimedDescriptorsCloseTheConnection) {
  start();
  const int file = file_with("x");
  Client client(socket_path_);
  // Descriptors with lines that announce none: held for later lines, up to a bound.
  const std::vector<int> many(200, file);
  client.send_passing(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{}})"
                      "\n",
                      many);
  EXPECT_TRUE(answer(client).contains("result"));
  client.send_passing(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{}})"
                      "\n",
                      many);
  json error = answer(client);
  EXPECT_EQ(error["error"]["code"], -32600) << error.dump();
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(RpcPassedFiles, NoDescriptorOutlivesItsRequestOrConnection) {
  start();
  Client warm(socket_path_);
  EXPECT_EQ(warm.call("echo", {{"ok", 1}})["result"]["ok"], 1);
  const int file = file_with("kept");
  const std::size_t before = open_descriptors();
  {
    Client client(socket_path_);
    client.send_passing(request("collect", {{"files", refs({0, 1})}}, R"(["fd","fd"])"),
                        {file, file});
    EXPECT_TRUE(answer(client).contains("result"));
    // Passed with a line that never ends, then the client goes away.
    client.send_passing(request("collect", {{"files", refs({0})}}, R"(["fd"])").substr(0, 20),
                        {file, file, file});
  }
  {
    Client client(socket_path_);  // announced bytes that never come
    client.send_passing(request("collect", {{"files", refs({0, 1})}}, R"(["fd",100])") + "x",
                        {file});
  }
  EXPECT_TRUE(descriptors_return_to(before))
      << open_descriptors() << " open, " << before << " before";
}

}  // namespace
