// A small HTTP/1.1 server for the relying party's callback endpoint and demo page.
//
// Careful rather than clever: one thread per connection, at most max_connections at once
// (beyond that a 503 at once, so a flood cannot exhaust threads); every read and write
// has a timeout and the whole request a deadline (a slow client cannot hold a thread);
// the head and the body have size limits (413 without reading a body that is too big);
// one request per connection; the handler's exceptions become a 500. Listens on an IPv4
// address only; port 0 picks a free port (port()).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "host/rp/http_message.h"

namespace idvault::rp {

struct HttpServerOptions {
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  std::chrono::milliseconds io_timeout{10'000};
  std::chrono::milliseconds request_deadline{30'000};
  std::size_t max_connections = 256;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // listen: "127.0.0.1:8080" (IPv4 literal and port). Throws std::runtime_error naming
  // the address when it cannot listen.
  HttpServer(std::string_view listen, Handler handler, HttpServerOptions options = {});
  // Owns the listening socket and its connection threads.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  [[nodiscard]] int port() const noexcept { return port_; }
  // Accepts until stop(); returns once every connection thread has finished.
  void run();
  // Safe from any thread and from a signal-handling thread.
  void stop() noexcept;

 private:
  void serve_connection(int fd) noexcept;

  Handler handler_;
  HttpServerOptions options_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t active_ = 0;
};

// Splits "HOST:PORT"; throws std::runtime_error for anything else.
[[nodiscard]] std::pair<std::string, int> split_listen_address(std::string_view listen);

}  // namespace idvault::rp
