// The HTTP/1.1 server idvault's services share (idvault-rp serve, idvault-cloud), on
// Boost.Beast over Boost.Asio; this header keeps both out of its users' builds.
//
// Threads: `threads` run the sockets (Asio's io_context: accepting, TLS, reading,
// writing, timers) and never block; the handler runs on a separate pool of
// `handler_threads`, so a handler may block (an HSM call, a database) without stalling
// other connections' reads or timeouts. Each connection has at most one request in the
// handler pool at a time, so its queue is bounded by max_connections.
//
// What a client gets, before the handler is asked:
//  - 503 + Retry-After at once past max_connections open, or max_connections_per_client
//    from one address (TLS clients get it after the handshake, like any answer);
//  - 400 for a head other parsers could frame differently (raw_head.h, checked on the raw
//    bytes before Beast's parser sees them), 505 for a version other than HTTP/1.x;
//  - 431 for a head over max_head_bytes, 408 when it has not arrived whole
//    header_deadline after the request began (the connection's accept, or the previous
//    answer on a kept-alive connection) or a read stalls for io_timeout; a connection
//    that sends nothing for a new request is closed without an answer;
//  - 429 + Retry-After past the per-client rate on rate_limited_paths (any method);
//  - 411 for a Transfer-Encoding (bodies come with Content-Length only);
//  - 413 for a Content-Length over max_body_bytes, before reading any of the body;
//  - 503 + Retry-After when the bodies being received at once would pass
//    body_memory_bytes (a body's buffer grows as bytes arrive: a declared length reserves
//    nothing), 408 when the body stalls for io_timeout or is not in by request_deadline;
//  - what ServerOptions::plan_body answers for the head, before any byte of the body is
//    read (a 507, say, for a declared length over an account's quota), or 500 when the
//    plan or its sink throws;
//  - 500 when the handler throws.
// Answers carry Content-Length, Cache-Control: no-store and X-Content-Type-Options:
// nosniff; HEAD answers have the head (Content-Length included) without the body. An
// answer with Response::file is sent from that file as it is read (sendfile over plain
// TCP, one reused buffer over TLS), never copied whole into memory.
// Keep-alive as HTTP/1.1 says (HTTP/1.0 with "Connection: keep-alive"); after any
// refusal above, and after a POST, PUT or PATCH without Content-Length (read as an empty
// body), the connection is closed. TLS (1.2 and up) when tls_cert and tls_key are given;
// a TLS client gets the same answers as a plain one.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "host/http/listening_socket.h"
#include "host/http/message.h"
#include "host/http/request_rate_limiter.h"

namespace idvault::http {

class MetricsRegistry;

// What to do with a request's body, decided from its head and declared length.
struct BodyPlan {
  std::optional<Response> refusal;  // answered instead; the body is not read
  // The body goes here as it arrives, one reused buffer at a time (charged to
  // body_memory_bytes; the body itself is not), and the handler finds it in
  // Request::body_sink. None: the body is read into Request::body.
  std::shared_ptr<BodySink> sink;
};
using BodyPlanner = std::function<BodyPlan(const Request& head, std::uint64_t content_length)>;

struct ServerOptions {
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  // All bodies being received at once; never less than max_body_bytes.
  std::size_t body_memory_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds io_timeout{10'000};        // per read; per answer's write
  std::chrono::milliseconds header_deadline{10'000};   // from the request's start to its head's end
  std::chrono::milliseconds request_deadline{30'000};  // from its start to its body's end
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 64;
  std::set<std::string> rate_limited_paths;  // e.g. {"/request"}; any method
  RequestRateLimit request_rate;
  // Socket threads (0: one per core) and handler threads (0: 32).
  unsigned threads = 0;
  unsigned handler_threads = 0;
  // Both PEM files, or neither: the certificate chain (leaf first) and its private key.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // When set (and outliving the server): http_requests_total{route,status},
  // http_request_duration_seconds{route} (the handler's time) and http_connections_open.
  // route is the request's path when metric_routes holds it, "other" for another path,
  // "none" when the answer came before a path was read; so a client cannot grow the
  // registry by inventing paths.
  MetricsRegistry* metrics = nullptr;
  std::set<std::string> metric_routes;
  // Asked on the handler pool for every request that declares a body (its length within
  // max_body_bytes), before the body is read; it may block like a handler. None: every
  // body is read into Request::body.
  BodyPlanner plan_body;
};

using Handler = std::function<Response(const Request&)>;

class Server {
 public:
  // listen: "127.0.0.1:8080" (IPv4 literal and port; port 0 picks a free one). Throws
  // std::runtime_error naming the address when it cannot listen, or the file when the
  // TLS certificate or key cannot be loaded.
  Server(std::string_view listen, Handler handler, ServerOptions options = {});
  // On a socket already listening (a pre-forked worker's, prefork.h): the server takes
  // its descriptor and closes it when it stops; other processes holding the same socket
  // keep it open and accept from it too.
  Server(ListeningSocket socket, Handler handler, ServerOptions options = {});
  Server(const Server&) = delete;  // owns the listening socket and its threads
  Server& operator=(const Server&) = delete;
  // Stops, and waits for run() to return if it is running on another thread.
  ~Server();

  [[nodiscard]] int port() const noexcept;
  // Serves on this thread and threads - 1 more until stop(); returns once every
  // connection has ended. Requests in progress are answered (then their connection is
  // closed); idle kept-alive connections are closed at once.
  void run();
  // Safe from any thread, a signal-handling thread (sigwait) included; not async-signal
  // safe, so not from a signal handler itself. Before run() it makes run() return at once.
  void stop() noexcept;

  class Impl;  // server.cpp's (public so that its connection type may name it)

 private:
  std::unique_ptr<Impl> impl_;
};

// What a process running a Server sets once at start: the open-file limit raised to the
// hard limit (each connection holds a descriptor), and large blocks (a body's buffer)
// mapped on their own, so memory a body held goes back to the system when it is freed.
void prepare_process_for_serving() noexcept;

// Splits "HOST:PORT"; throws std::runtime_error for anything else.
[[nodiscard]] std::pair<std::string, int> split_listen_address(std::string_view listen);

}  // namespace idvault::http
