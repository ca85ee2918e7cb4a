// The agent's transport against real Unix sockets: the properties a client (or an
// attacker on the same machine) can observe.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

#include "host/rpc/agent_socket.h"
#include "host/rpc/rpc_server.h"
#include "tests/host/rpc/rpc_server_fixture.h"
#include "tests/host/rpc/rpc_test_client.h"

using namespace idvault::rpc;
using idvault::testing::Client;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpcTransport : public idvault::testing::RpcServerFixture {
 protected:
  RpcTransport() : RpcServerFixture("idvault-rpc") {}
  void SetUp() override {
    methods_.add("echo", [](json& params, const CallContext&) { return params; });
    methods_.add("sleep", [](json& params, const CallContext&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(params.at("ms").get<int>()));
      return json("slept");
    });
    methods_.add("wait_for_gate", [this](json&, const CallContext&) {
      for (int i = 0; i < 1000 && !gate_.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return json(gate_.load() ? "opened" : "timed out");
    });
    methods_.add("boom", [](json&, const CallContext&) -> json {
      throw std::runtime_error("secret detail 1234");
    });
    methods_.add("refuse", [](json&, const CallContext&) -> json {
      throw RpcError(RpcCode::consent_refused, "the holder said no");
    });
    methods_.add("subscribe", [](json&, const CallContext& context) {
      context.subscribe_events();
      return json(true);
    });
    methods_.add("whoami",
                 [](json&, const CallContext& context) { return json(context.peer().uid); });
  }

  std::atomic<bool> gate_{false};
};

}  // namespace

TEST_F(RpcTransport, AnswersARequest) {
  start();
  Client client(socket_path_);
  json answer = client.call("echo", {{"hello", "world"}}, 42);
  EXPECT_EQ(answer["jsonrpc"], "2.0");
  EXPECT_EQ(answer["id"], 42);
  EXPECT_EQ(answer["result"]["hello"], "world");
  EXPECT_EQ(client.call("whoami")["result"], ::geteuid());
}

TEST_F(RpcTransport, SocketAndDirectoryArePrivate) {
  start();
  struct stat info {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(socket_path_.parent_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(RpcTransport, GarbageGetsAnErrorAndTheConnectionStaysUsable) {
  start();
  Client client(socket_path_);
  client.send("this is not json\n");
  json error = json::parse(client.read_line());
  EXPECT_EQ(error["error"]["code"], -32700);
  EXPECT_TRUE(error["id"].is_null());
  client.send("\x01\x02\xff\n");
  EXPECT_EQ(json::parse(client.read_line())["error"]["code"], -32700);
  client.send(R"({"jsonrpc":"2.0","id":3,"params":{}})"
              "\n");
  EXPECT_EQ(json::parse(client.read_line())["error"]["code"], -32600);
  EXPECT_EQ(client.call("echo", {{"still", "here"}})["result"]["still"], "here");
}

TEST_F(RpcTransport, UnknownMethodAndBadParamsAreNamed) {
  start();
  Client client(socket_path_);
  json missing = client.call("no-such-method");
  EXPECT_EQ(missing["error"]["code"], -32601);
  EXPECT_NE(missing["error"]["message"].get<std::string>().find("no-such-method"),
            std::string::npos);
  EXPECT_EQ(client.call("sleep", {{"ms", "ten"}})["error"]["code"], -32602);
}

TEST_F(RpcTransport, HandlerFailuresDoNotLeakTheirDetails) {
  start();
  Client client(socket_path_);
  json error = client.call("boom");
  EXPECT_EQ(error["error"]["code"], -32603);
  EXPECT_EQ(error.dump().find("1234"), std::string::npos);
  json refused = client.call("refuse");
  EXPECT_EQ(refused["error"]["code"], -32007);
  EXPECT_EQ(refused["error"]["message"], "the holder said no");
}

TEST_F(RpcTransport, NotificationsGetNoAnswer) {
  start();
  Client client(socket_path_);
  client.send(R"({"jsonrpc":"2.0","method":"echo","params":{"n":1}})"
              "\n");
  json answer = client.call("echo", {{"n", 2}}, 9);
  EXPECT_EQ(answer["id"], 9);
  EXPECT_EQ(answer["result"]["n"], 2);
}

TEST_F(RpcTransport, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client client(socket_path_);
  std::string batch;
  for (int i = 0; i < 200; ++i) {
    batch +=
        json{{"jsonrpc", "2.0"}, {"id", i}, {"method", "echo"}, {"params", {{"i", i}}}}.dump() +
        "\n";
  }
  client.send(batch);
  for (int i = 0; i < 200; ++i) {
    json answer = json::parse(client.read_line());
    ASSERT_EQ(answer["id"], i);
  }
}

TEST_F(RpcTransport, OversizedFrameIsRefusedAndThatConnectionClosed) {
  RpcServerOptions options;
  options.max_frame_bytes = 1024;
  start(options);
  Client hostile(socket_path_);
  Client bystander(socket_path_);
  hostile.send(std::string(4096, 'a'));
  json error = json::parse(hostile.read_line());
  EXPECT_EQ(error["error"]["code"], -32001);
  EXPECT_TRUE(hostile.closed_by_server());
  EXPECT_EQ(bystander.call("echo", {{"ok", true}})["result"]["ok"], true);
}

TEST_F(RpcTransport, A64MegabyteLineIsRefusedWithTheDefaultLimit) {
  start();
  Client hostile(socket_path_);
  std::thread sender([&] {
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 64; ++i) hostile.send(chunk);
  });
  json error = json::parse(hostile.read_line(20000));
  EXPECT_EQ(error["error"]["code"], -32001);
  EXPECT_TRUE(hostile.closed_by_server());
  sender.join();
  Client next(socket_path_);
  EXPECT_EQ(next.call("echo", {{"ok", 1}})["result"]["ok"], 1);
}

TEST_F(RpcTransport, AStalledClientDoesNotBlockOthers) {
  start();
  Client stalled(socket_path_);
  stalled.send(R"({"jsonrpc":"2.0","id":1,"meth)");  // half a frame, then nothing
  Client blocked(socket_path_);
  blocked.send(R"({"jsonrpc":"2.0","id":1,"method":"wait_for_gate"})"
               "\n");
  Client other(socket_path_);
  // Answered while the gated call is still running: the gate opens only afterwards.
  EXPECT_EQ(other.call("echo", {{"fast", true}})["result"]["fast"], true);
  EXPECT_FALSE(gate_.load());
  gate_ = true;
  EXPECT_EQ(json::parse(blocked.read_line())["result"], "opened");
}

TEST_F(RpcTransport, AHundredClientsAtOnce) {
  start();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int c = 0; c < 100; ++c) {
    threads.emplace_back([&, c] {
      Client client(socket_path_);
      for (int i = 0; i < 20; ++i) {
        json answer = client.call("echo", {{"c", c}, {"i", i}}, i);
        if (answer["result"]["c"] == c && answer["result"]["i"] == i) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 2000);
}

TEST_F(RpcTransport, AClientThatClosesItsSendingSideStillGetsItsAnswer) {
  start();
  Client client(socket_path_);
  client.send(R"({"jsonrpc":"2.0","id":5,"method":"echo","params":{"bye":1}})"
              "\n");
  client.shutdown_sending();
  json answer = json::parse(client.read_line());
  EXPECT_EQ(answer["result"]["bye"], 1);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(RpcTransport, EventsReachOnlySubscribers) {
  start();
  Client listener(socket_path_);
  Client other(socket_path_);
  EXPECT_EQ(listener.call("subscribe")["result"], true);
  EXPECT_EQ(other.call("echo")["result"], json::object());
  server_->publish("token_removed", {{"token", "holder"}});
  json event = json::parse(listener.read_line());
  EXPECT_EQ(event["method"], "token_removed");
  EXPECT_FALSE(event.contains("id"));
  EXPECT_EQ(other.read_line(300), "");
}

TEST_F(RpcTransport, ManyConnectCycles) {
  start();
  for (int i = 0; i < 2000; ++i) {
    Client client(socket_path_);
    if (i % 100 == 0) {
      ASSERT_EQ(client.call("echo", {{"i", i}})["result"]["i"], i);
    }
  }
  Client last(socket_path_);
  EXPECT_EQ(last.call("echo", {{"done", 1}})["result"]["done"], 1);
  // Give the loop a moment to reap the closed connections, then check none leaked.
  for (int i = 0; i < 50 && server_->open_connections() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(RpcTransport, ASecondAgentOnTheSameSocketIsRefused) {
  start();
  EXPECT_THROW((void)listen_on_path(socket_path_), std::runtime_error);
  EXPECT_EQ(Client(socket_path_).call("echo", {{"x", 1}})["result"]["x"], 1);
}

TEST_F(RpcTransport, AStaleSocketIsReplaced) {
  fs::create_directories(socket_path_.parent_path());
  ::chmod(socket_path_.parent_path().c_str(), 0700);
  int stale = listen_on_path(socket_path_);
  ::close(stale);  // the file stays, nothing answers
  start();
  EXPECT_EQ(Client(socket_path_).call("echo", {{"x", 2}})["result"]["x"], 2);
}

// Anyone may make /tmp/idvault-<uid> before the agent does, and put a socket or a link in
// a folder others may write to: the agent will not listen there, and the client will not
// talk to a socket there (issue 13.2; cli_squatted_socket.sh runs the attack itself).
TEST_F(RpcTransport, AFolderOthersMayWriteToIsRefusedByAgentAndClient) {
  fs::create_directories(socket_path_.parent_path());
  for (const mode_t loose : {0777, 0770, 0702}) {
    ::chmod(socket_path_.parent_path().c_str(), loose);
    EXPECT_THROW((void)listen_on_path(socket_path_), std::runtime_error) << std::oct << loose;
    EXPECT_FALSE(fs::exists(socket_path_));
    EXPECT_THROW(check_socket_folder(socket_path_), std::runtime_error) << std::oct << loose;
  }
  ::chmod(socket_path_.parent_path().c_str(), 0755);  // readable is not writable
  EXPECT_NO_THROW(check_socket_folder(socket_path_));
  start();
  EXPECT_NO_THROW(check_socket_folder(socket_path_));
  EXPECT_EQ(Client(socket_path_).call("echo", {{"x", 4}})["result"]["x"], 4);
}

TEST_F(RpcTransport, AnotherUidIsRefusedEvenWithLoosenedModes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  start();
  ::chmod(dir_.path().c_str(), 0755);
  ::chmod(socket_path_.parent_path().c_str(), 0777);
  ::chmod(socket_path_.c_str(), 0666);
  passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) ::_exit(3);
    try {
      Client intruder(socket_path_);
      json answer = intruder.call("echo", {{"x", 1}});
      ::_exit(answer.is_null() ? 0 : 1);  // 0: no answer, as it must be
    } catch (...) {
      ::_exit(2);  // could not even connect: the modes did not open it up
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GE(server_->refused_peers(), 1u);
  EXPECT_EQ(Client(socket_path_).call("echo", {{"x", 3}})["result"]["x"], 3);
}

namespace {

std::atomic<RpcServer*> g_signalled_server{nullptr};
void stop_on_signal(int) {
  if (auto* server = g_signalled_server.load()) server->stop_from_signal();
}

// What idvault-agent does on SIGTERM: a real handler, delivered to the thread that runs
// the loop while clients keep the loop and the workers busy. run() must return, and
// promptly (stop() from a handler could deadlock on the server's own mutex).
TEST_F(RpcTransport, AStopFromASignalHandlerEndsTheLoopWhileClientsAreBusy) {
  RpcServerOptions options;
  options.allowed_uid = ::geteuid();
  auto server = std::make_unique<RpcServer>(listen_on_path(socket_path_), methods_, options);
  std::atomic<bool> returned{false};
  std::thread loop([&] {
    server->run();
    returned = true;
  });
  std::atomic<bool> busy{true};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      try {
        Client client(socket_path_);
        while (busy.load()) (void)client.call("echo", {{"n", 1}});
      } catch (
          const std::exception&) {  // NOLINT(bugprone-empty-catch): the server stops under them
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  g_signalled_server = server.get();
  struct sigaction action {};
  struct sigaction before {};
  action.sa_handler = stop_on_signal;
  ASSERT_EQ(::sigaction(SIGUSR1, &action, &before), 0);
  ASSERT_EQ(::pthread_kill(loop.native_handle(), SIGUSR1), 0);
  for (int i = 0; i < 500 && !returned.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(returned.load()) << "run() did not return within 5 s of the signal";
  busy = false;
  ::sigaction(SIGUSR1, &before, nullptr);
  if (!returned.load()) {  // a hung loop: leave it be, the test has failed
    loop.detach();
    for (auto& client : clients) client.detach();
    (void)server.release();
    return;
  }
  loop.join();
  g_signalled_server = nullptr;
  server.reset();  // closes the connections: the clients' calls fail and they stop
  for (auto& client : clients) client.join();
}

}  // namespace
