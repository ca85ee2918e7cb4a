// The shared HTTP server over real sockets, each case once in plain TCP and once over
// TLS (a throwaway self-signed certificate): a TLS client must get the same answers.
// Every status docs/SERVICE.md promises, keep-alive, and a corpus of smuggling and
// framing attacks, each refused before the handler sees it.
#include "host/http/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/http/listening_socket.h"
#include "host/http/metrics.h"
#include "tests/host/http/http_client.h"
#include "tests/host/http/throwaway_certificate.h"

using namespace idvault::http;
using namespace idvault::http::test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// A planned body's sink: keeps what it is fed; alive counts the sinks not yet dropped.
class KeepingSink final : public BodySink {
 public:
  explicit KeepingSink(std::atomic<int>& alive) : alive_(alive) { ++alive_; }
  KeepingSink(const KeepingSink&) = delete;
  KeepingSink& operator=(const KeepingSink&) = delete;
  KeepingSink(KeepingSink&&) = delete;
  KeepingSink& operator=(KeepingSink&&) = delete;
  ~KeepingSink() override { --alive_; }
  void write(std::span<const std::uint8_t> bytes) override {
    kept.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::string kept;

 private:
  std::atomic<int>& alive_;
};

// The file X-File names, as a file answer.
Response file_answer(const Request& request) {
  const int descriptor = ::open(request.header("x-file").c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return Response::error(404, "no such file");
  struct stat status {};
  ::fstat(descriptor, &status);
  Response response;
  response.content_type = "application/octet-stream";
  response.file =
      std::make_shared<const FileContent>(descriptor, static_cast<std::uint64_t>(status.st_size));
  return response;
}

// Echoes what the handler saw; /throw throws; /fixed answers the same to every method;
// /file answers with the file X-File names.
Response echo(const Request& request, std::atomic<int>& calls) {
  ++calls;
  if (request.path == "/throw") throw std::runtime_error("handler failed");
  if (request.path == "/fixed") return Response::json(200, R"({"same":"for GET and HEAD"})");
  if (request.path == "/file") return file_answer(request);
  const auto* sink = dynamic_cast<const KeepingSink*>(request.body_sink.get());
  nlohmann::json out{
      {"sink_size", sink != nullptr ? sink->kept.size() : 0},
      {"sink_sum", sink != nullptr ? std::accumulate(sink->kept.begin(), sink->kept.end(), 0U,
                                                     [](unsigned sum, char c) {
                                                       return sum * 31 +
                                                              static_cast<unsigned char>(c);
                                                     })
                                   : 0U},
      {"method", request.method},
      {"path", request.path},
      {"target", request.target},
      {"query", request.query},
      {"body_size", request.body.size()},
      {"client", request.client_address},
      {"tls", request.tls},
      {"x_test", request.header("x-test")}};
  Response response = Response::json(200, out.dump());
  response.headers.emplace_back("X-Extra", "yes");
  response.headers.emplace_back("X-Bad", "a\r\nInjected: 1");
  return response;
}

class HttpServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    // A client writing to a connection the server closed gets EPIPE, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
  }
  void start(ServerOptions options = {}) {
    options.threads = 2;
    options.handler_threads = 4;
    if (tls()) {
      certificate_ = std::make_unique<ThrowawayCertificate>();
      options.tls_cert = certificate_->cert;
      options.tls_key = certificate_->key;
    }
    server_ = std::make_unique<Server>(
        "127.0.0.1:0", [this](const Request& request) { return echo(request, calls_); },
        std::move(options));
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      thread_.join();
    }
  }
  [[nodiscard]] bool tls() const { return GetParam(); }
  std::unique_ptr<Client> connect(std::chrono::milliseconds timeout = 10s) {
    return std::make_unique<Client>(server_->port(), tls(), timeout);
  }
  // One request on a fresh connection.
  std::optional<ParsedResponse> exchange(const std::string& bytes) {
    auto client = connect();
    if (!client->send(bytes)) return std::nullopt;
    return client->read_response(bytes.rfind("HEAD ", 0) == 0);
  }

  MetricsRegistry metrics_;  // outlives the server, which counts into it until stopped
  std::unique_ptr<ThrowawayCertificate> certificate_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> calls_{0};
};

TEST_P(HttpServerTest, AHandlerSeesTheRequestAndItsAnswerGoesBack) {
  start();
  const auto response =
      exchange("GET /a/b%20c?x=1&name=J%C3%B6rg+M&flag HTTP/1.1\r\nHost: h\r\nX-Test: t1\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("cache-control"), "no-store");
  EXPECT_EQ(response->header("x-content-type-options"), "nosniff");
  EXPECT_EQ(response->header("x-extra"), "yes");
  EXPECT_EQ(response->header("x-bad"), "") << "a value with CR LF is dropped";
  EXPECT_EQ(response->header("injected"), "");
  const auto seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["method"], "GET");
  EXPECT_EQ(seen["path"], "/a/b%20c") << "the path is not decoded";
  EXPECT_EQ(seen["query"]["name"], "J\xC3\xB6rg M");
  EXPECT_EQ(seen["query"]["flag"], "");
  EXPECT_EQ(seen["client"], "127.0.0.1");
  EXPECT_EQ(seen["tls"], tls());
  EXPECT_EQ(seen["x_test"], "t1");
}

TEST_P(HttpServerTest, APostBodyArrivesWholeWithAndWithoutExpectContinue) {
  start();
  const std::string body(300'000, 'b');
  for (const char* expect : {"", "Expect: 100-continue\r\n"}) {
    auto client = connect();
    ASSERT_TRUE(client->send("POST /upload HTTP/1.1\r\nHost: h\r\n" + std::string(expect) +
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    ASSERT_TRUE(client->send(body));
    const auto response = client->read_response();
    ASSERT_TRUE(response) << expect;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["body_size"], body.size());
  }
}

// ServerOptions::plan_body: a body its plan names a sink for goes there as it arrives
// (the handler finds it in body_sink), one it refuses is answered before any of it is
// read, and a streamed body that stalls gets its 408 and its sink dropped.
TEST_P(HttpServerTest, APlannedBodyStreamsToItsSinkOrIsRefusedBeforeItIsRead) {
  std::atomic<int> alive{0};
  ServerOptions options;
  options.io_timeout = 400ms;
  options.plan_body = [&alive](const Request& head, std::uint64_t length) {
    BodyPlan plan;
    if (head.path == "/full")
      plan.refusal = Response::error(507, "full for " + std::to_string(length));
    else if (head.path == "/stream")
      plan.sink = std::make_shared<KeepingSink>(alive);
    return plan;
  };
  start(options);
  std::string body(3'000'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + i / 1000);
  const unsigned sum = std::accumulate(body.begin(), body.end(), 0U, [](unsigned total, char c) {
    return total * 31 + static_cast<unsigned char>(c);
  });
  for (const char* expect : {"", "Expect: 100-continue\r\n"}) {
    auto client = connect();
    ASSERT_TRUE(client->send("POST /stream HTTP/1.1\r\nHost: h\r\n" + std::string(expect) +
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                             body.substr(0, 1000)));
    ASSERT_TRUE(client->send(std::string_view(body).substr(1000)));
    const auto response = client->read_response();
    ASSERT_TRUE(response) << expect;
    EXPECT_EQ(response->status, 200);
    const auto seen = nlohmann::json::parse(response->body);
    EXPECT_EQ(seen["body_size"], 0);
    EXPECT_EQ(seen["sink_size"], body.size());
    EXPECT_EQ(seen["sink_sum"], sum);
  }
  {
    // Refused on its head alone: the client never sent the body.
    auto client = connect();
    ASSERT_TRUE(client->send("PUT /full HTTP/1.1\r\nHost: h\r\nContent-Length: 5000000\r\n\r\n"));
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 507);
    EXPECT_NE(response->body.find("full for 5000000"), std::string::npos) << response->body;
    EXPECT_TRUE(client->closed_by_server());
  }
  const int handled = calls_.load();
  {
    auto client = connect();
    ASSERT_TRUE(client->send("POST /stream HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789"));
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 408);
  }
  EXPECT_EQ(calls_.load(), handled) << "the handler never sees a body that did not arrive";
  for (int i = 0; i < 500 && alive.load() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(alive.load(), 0) << "a sink outlived its request";
  // A body with no plan is read into memory as ever.
  const auto plain = exchange("POST /plain HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(plain);
  EXPECT_EQ(nlohmann::json::parse(plain->body)["body_size"], 5);
}

// Response::file: the answer's body read from disk as it is sent, its head the same as
// for a body in memory, and the connection kept for the next request.
TEST_P(HttpServerTest, AFileAnswerIsSentFromDisk) {
  start();
  const std::string path = ::testing::TempDir() + "/idvault-http-file-answer";
  std::string bytes(1'048'583, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 251);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto client = connect();
  ASSERT_TRUE(client->send("GET /file HTTP/1.1\r\nHost: h\r\nX-File: " + path + "\r\n\r\n"));
  const auto got = client->read_response();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->header("content-type"), "application/octet-stream");
  EXPECT_EQ(got->header("cache-control"), "no-store");
  EXPECT_EQ(got->header("content-length"), std::to_string(bytes.size()));
  EXPECT_TRUE(got->body == bytes);
  ASSERT_TRUE(client->send("HEAD /file HTTP/1.1\r\nHost: h\r\nX-File: " + path + "\r\n\r\n"));
  const auto head = client->read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), std::to_string(bytes.size()));
  ASSERT_TRUE(client->send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto next = client->read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(nlohmann::json::parse(next->body)["path"], "/next");
  std::remove(path.c_str());
}

TEST_P(HttpServerTest, KeepAliveServesThreeRequestsOnOneConnection) {
  start();
  auto client = connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->send("POST /n" + std::to_string(i) +
                             " HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
    const auto response = client->read_response();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("connection"), "keep-alive");
    EXPECT_EQ(nlohmann::json::parse(response->body)["path"], "/n" + std::to_string(i));
  }
  // Pipelined: three in one write, answered in order.
  ASSERT_TRUE(
      client->send("GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p2 HTTP/1.1\r\nHost: h\r\n\r\n"
                   "GET /p3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  for (const char* path : {"/p1", "/p2", "/p3"}) {
    const auto response = client->read_response();
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(nlohmann::json::parse(response->body)["path"], path);
  }
  EXPECT_TRUE(client->closed_by_server()) << "Connection: close is honoured";
  EXPECT_EQ(calls_.load(), 6);
}

TEST_P(HttpServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send("GET /old HTTP/1.0\r\n\r\n"));
  const auto response = client->read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client->closed_by_server());
}

TEST_P(HttpServerTest, HeadAnswersHaveTheGetHeadWithoutTheBody) {
  start();
  const auto get = exchange("GET /fixed HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(get);
  auto client = connect();
  ASSERT_TRUE(client->send("HEAD /fixed HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto head = client->read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(get->body.size()));
  // Had a body followed, it would be read as the next answer's head.
  ASSERT_TRUE(client->send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto next = client->read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(nlohmann::json::parse(next->body)["path"], "/next");
}

TEST_P(HttpServerTest, AHandlerExceptionIsA500) {
  start();
  const auto response = exchange("GET /throw HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"], "internal error");
}

TEST_P(HttpServerTest, APostWithoutLengthHasNoBodyAndEndsTheConnection) {
  start();
  auto client = connect();
  ASSERT_TRUE(
      client->send("POST /nolength HTTP/1.1\r\nHost: h\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"));
  const auto response = client->read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(nlohmann::json::parse(response->body)["body_size"], 0);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(client->unread(), "") << "what followed was not served as a request";
  EXPECT_EQ(calls_.load(), 1);
}

TEST_P(HttpServerTest, ChunkedBodiesGet411) {
  start();
  const auto response = exchange(
      "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 411);
  EXPECT_EQ(response->header("connection"), "close");
  const auto other = exchange("POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 411);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_P(HttpServerTest, AGibibyteDeclaredGets413BeforeAnyOfItIsSent) {
  ServerOptions options;
  options.max_body_bytes = 1024 * 1024;
  start(options);
  auto client = connect();
  ASSERT_TRUE(
      client->send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1073741824\r\n\r\n"));
  const auto response = client->read_response();
  ASSERT_TRUE(response) << "answered from the head alone";
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(calls_.load(), 0);
}

TEST_P(HttpServerTest, AHeadOverTheLimitGets431) {
  start();
  const auto big = exchange("GET / HTTP/1.1\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 431);
  // An endless header: the server answers once it has more than the limit, without
  // waiting for an end that never comes.
  auto client = connect();
  ASSERT_TRUE(client->send("GET / HTTP/1.1\r\nX-Endless: "));
  for (int i = 0; i < 32; ++i) {
    if (!client->send(std::string(1024, 'a'))) break;
  }
  const auto endless = client->read_response();
  ASSERT_TRUE(endless);
  EXPECT_EQ(endless->status, 431);
  EXPECT_EQ(calls_.load(), 0);
}

// What a proxy in front and this server could frame differently: every one a 400 (or
// 505 for a version), none reaching the handler.
TEST_P(HttpServerTest, SmugglingAndFramingCorpusIsRefused) {
  start();
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"CL with TE",
       "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"TE with CL",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
      {"two CLs", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
      {"two CLs differing",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd"},
      {"CL list", "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"},
      {"negative CL", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"},
      {"signed CL", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"},
      {"hex CL", "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc"},
      {"huge CL", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"},
      {"empty CL", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"},
      {"empty TE", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n"},
      {"two TEs",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n"},
      {"obs-fold tab", "GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n"},
      {"folded CL", "POST / HTTP/1.1\r\nX-A: b\r\n Content-Length: 3\r\n\r\nabc"},
      {"NUL", "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s},
      {"bare CR", "GET / HTTP/1.1\r\nX-A: a\rContent-Length: 3\r\n\r\nabc"},
      {"bare LF", "GET / HTTP/1.1\r\nX-A: a\nContent-Length: 3\r\n\r\nabc"},
      {"control char", "GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"},
      {"DEL", "GET / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n"},
      {"space before colon", "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc"},
      {"no colon", "GET / HTTP/1.1\r\nX-A\r\n\r\n"},
      {"absolute target", "GET http://example.com/ HTTP/1.1\r\n\r\n"},
      {"NUL in target", "GET /a\0b HTTP/1.1\r\n\r\n"s},
      {"extra space", "GET  / HTTP/1.1\r\n\r\n"},
      {"LF-only line ends", "GET / HTTP/1.1\nHost: h\n\n\r\n\r\n"},
  };
  for (const auto& [name, bytes] : corpus) {
    const auto response = exchange(bytes);
    ASSERT_TRUE(response) << name;
    EXPECT_EQ(response->status, 400) << name;
    EXPECT_EQ(response->header("connection"), "close") << name;
  }
  const auto version = exchange("GET / HTTP/2.0\r\n\r\n");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 505);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_P(HttpServerTest, ASlowHeadOrBodyGets408) {
  ServerOptions options;
  options.header_deadline = 600ms;
  options.io_timeout = 400ms;
  options.request_deadline = 2s;
  start(options);
  {
    // A byte at a time, each within the read timeout: the head's deadline still ends it.
    auto client = connect();
    const std::string head = "GET / HTTP/1.1\r\nX-Slow: ";
    ASSERT_TRUE(client->send(head));
    for (int i = 0; i < 10 && client->send("a"); ++i) std::this_thread::sleep_for(150ms);
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 408);
  }
  {
    auto client = connect();
    ASSERT_TRUE(client->send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789"));
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 408);
  }
  {
    // Connected and silent: closed without an answer.
    auto client = connect();
    EXPECT_FALSE(client->read_response());
    EXPECT_TRUE(client->closed_by_server());
  }
  EXPECT_EQ(calls_.load(), 0);
}

TEST_P(HttpServerTest, AKeptAliveConnectionGetsAFreshHeadDeadlinePerRequest) {
  ServerOptions options;
  options.header_deadline = 800ms;
  start(options);
  auto client = connect();
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(400ms);  // 1.2 s in all: past one deadline, within each
    ASSERT_TRUE(client->send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    const auto response = client->read_response();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
  }
}

TEST_P(HttpServerTest, ConnectionCapsGive503WithRetryAfter) {
  ServerOptions options;
  options.max_connections_per_client = 2;
  options.max_connections = 3;
  start(options);
  auto first = connect();
  auto second = connect();
  std::this_thread::sleep_for(100ms);
  {
    auto third = connect();
    const auto refused = third->read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->header("retry-after"), "1");
    EXPECT_NE(refused->body.find("from your address"), std::string::npos);
  }
  // Those admitted are served.
  ASSERT_TRUE(first->send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto served = first->read_response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  second.reset();
  std::this_thread::sleep_for(200ms);
  auto again = connect();
  ASSERT_TRUE(again->send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  const auto after = again->read_response();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << "a closed connection gives its place back";
}

TEST_P(HttpServerTest, TheServerWideCapGives503) {
  ServerOptions options;
  options.max_connections = 2;
  start(options);
  auto first = connect();
  auto second = connect();
  std::this_thread::sleep_for(100ms);
  auto third = connect();
  const auto refused = third->read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->header("retry-after"), "1");
  EXPECT_EQ(refused->body.find("from your address"), std::string::npos);
}

TEST_P(HttpServerTest, TheBodyMemoryBudgetGives503) {
  ServerOptions options;
  options.max_body_bytes = 1024 * 1024;
  // The first body's buffer ends at 512 KiB + 600000 bytes while it grows the last time.
  options.body_memory_bytes = 1200 * 1024;
  start(options);
  const std::string head = "POST /upload HTTP/1.1\r\nContent-Length: 600000\r\n\r\n";
  auto first = connect();
  ASSERT_TRUE(first->send(head));
  ASSERT_TRUE(first->send(std::string(300'000, 'a')));  // its buffer holds 512 KiB
  std::this_thread::sleep_for(300ms);
  auto second = connect();
  ASSERT_TRUE(second->send(head));
  (void)second->send(std::string(300'000, 'b'));  // past 256 KiB it needs 512 KiB more
  const auto refused = second->read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->header("retry-after"), "5");
  ASSERT_TRUE(first->send(std::string(300'000, 'a')));
  const auto served = first->read_response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(nlohmann::json::parse(served->body)["body_size"], 600000);
}

TEST_P(HttpServerTest, RateLimitedPathsGive429WithRetryAfter) {
  ServerOptions options;
  options.rate_limited_paths = {"/request"};
  options.request_rate = {.burst = 2, .refill_interval = 60s};
  start(options);
  for (int i = 0; i < 2; ++i) {
    const auto response = exchange("GET /request HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << i;
  }
  const auto limited = exchange("GET /request?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("retry-after"), "60");
  const auto other = exchange("GET /result HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << "other paths are not limited";
}

TEST_P(HttpServerTest, StopEndsIdleConnectionsAndRunReturns) {
  start();
  auto idle = connect();
  ASSERT_TRUE(idle->send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(idle->read_response());
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s) << "not the 10 s head deadline";
  EXPECT_TRUE(idle->closed_by_server());
}

TEST_P(HttpServerTest, RequestsAreCountedByRouteAndStatus) {
  ServerOptions options;
  options.metrics = &metrics_;
  options.metric_routes = {"/known"};
  start(options);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(exchange("GET /known HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(exchange("GET /invented-1 HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(exchange("GET /known HTTP/1.1\r\nX: a\nb\r\n\r\n"));
  ASSERT_TRUE(exchange("GET /throw HTTP/1.1\r\n\r\n"));
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("http_requests_total{route=\"/known\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"other\",status=\"200\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"other\",status=\"500\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"none\",status=\"400\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"/known\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE http_connections_open gauge\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("invented"), std::string::npos) << "paths outside metric_routes are 'other'";
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, HttpServerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "tls" : "plain"; });

TEST(HttpServer, ListensOnPortZeroAndRefusesBadAddressesAndTlsFiles) {
  Server server("127.0.0.1:0", [](const Request&) { return Response::json(200, "{}"); });
  EXPECT_GT(server.port(), 0);
  const auto handler = [](const Request&) { return Response(); };
  EXPECT_THROW(Server("localhost:0", handler), std::runtime_error);
  EXPECT_THROW(Server("127.0.0.1", handler), std::runtime_error);
  EXPECT_THROW(Server("127.0.0.1:70000", handler), std::runtime_error);
  EXPECT_THROW(Server("127.0.0.1:" + std::to_string(server.port()), handler), std::runtime_error)
      << "the port is taken";
  ServerOptions half;
  half.tls_cert = "/nonexistent/cert.pem";
  EXPECT_THROW(Server("127.0.0.1:0", handler, half), std::runtime_error);
  half.tls_key = "/nonexistent/key.pem";
  EXPECT_THROW(Server("127.0.0.1:0", handler, half), std::runtime_error);
  EXPECT_EQ(split_listen_address("10.0.0.1:8080"), std::make_pair(std::string("10.0.0.1"), 8080));
}

TEST(HttpServer, ServesASocketBoundBeforehandAndClosesItWhenStopped) {
  ListeningSocket socket("127.0.0.1:0");
  const int port = socket.port();
  EXPECT_GT(port, 0);
  EXPECT_THROW(ListeningSocket("127.0.0.1:" + std::to_string(port)), std::runtime_error)
      << "the port is taken";
  EXPECT_THROW(ListeningSocket("localhost:0"), std::runtime_error);
  {
    Server server(std::move(socket), [](const Request&) { return Response::json(200, "{}"); });
    EXPECT_EQ(server.port(), port);
    std::thread runner([&] { server.run(); });
    Client client(port, false);
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\n\r\n"));
    const auto answer = client.read_response();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    server.stop();
    runner.join();
  }
  EXPECT_NO_THROW(ListeningSocket("127.0.0.1:" + std::to_string(port))) << "closed with the server";
}

TEST(HttpServer, StopBeforeRunMakesRunReturn) {
  Server server("127.0.0.1:0", [](const Request&) { return Response(); });
  server.stop();
  server.run();
}

TEST(HttpServer, AHandlerThatBlocksDoesNotStallOtherConnections) {
  std::atomic<bool> release{false};
  ServerOptions options;
  options.threads = 1;
  options.handler_threads = 2;
  Server server(
      "127.0.0.1:0",
      [&](const Request& request) {
        if (request.path == "/block")
          while (!release.load()) std::this_thread::sleep_for(10ms);
        return Response::json(200, "{}");
      },
      options);
  std::thread runner([&] { server.run(); });
  Client blocked(server.port(), false);
  ASSERT_TRUE(blocked.send("GET /block HTTP/1.1\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  Client other(server.port(), false, 2s);
  ASSERT_TRUE(other.send("GET /quick HTTP/1.1\r\n\r\n"));
  const auto quick = other.read_response();
  release = true;
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->status, 200);
  ASSERT_TRUE(blocked.read_response());
  server.stop();
  runner.join();
}

}  // namespace
