// A small HTTP/1.1 server for the relying party's callback endpoint and demo page.
//
// Careful rather than clever: one thread per connection, at most max_connections at once
// and max_connections_per_client from one address (beyond that a 503 at once, so neither
// a flood nor one client's idle sockets can exhaust threads or lock others out); every
// read and write has a timeout, the head a short deadline and the whole request a longer
// one (a slow client cannot hold a thread); the head and the body have size limits (413
// without reading a body that is too big), and the bodies being received share one memory
// budget (503 when it is spent); requests to rate_limited_paths are counted per client
// (429 past the rate); one request per connection; HEAD answers carry no body; the
// handler's exceptions become a 500. A shortage of descriptors pauses accepting instead
// of spinning. Listens on an IPv4 address only; port 0 picks a free port (port()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "host/rp/http/body_memory_budget.h"
#include "host/rp/http/connection_admission.h"
#include "host/rp/http/http_message.h"
#include "host/rp/http/request_rate_limiter.h"

namespace idvault::rp {

struct HttpServerOptions {
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  // All bodies being received at once; never less than max_body_bytes.
  std::size_t body_memory_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds io_timeout{10'000};
  std::chrono::milliseconds header_deadline{10'000};  // from accept to the head's last byte
  std::chrono::milliseconds request_deadline{30'000};
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 64;
  std::set<std::string> rate_limited_paths;  // e.g. {"/request"}; any method
  RequestRateLimit request_rate;
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
  void admit(int fd, std::uint32_t client);
  void serve_connection(int fd, std::uint32_t client) noexcept;

  Handler handler_;
  HttpServerOptions options_;
  ConnectionAdmission admission_;
  BodyMemoryBudget body_budget_;
  RequestRateLimiter rate_limiter_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

// What a process running an HttpServer sets once at start: the open-file limit raised to
// the hard limit (each connection holds a descriptor), and large blocks (a body's buffer)
// mapped on their own, so memory a body held goes back to the system when it is freed
// instead of staying in the process after a burst of uploads.
void prepare_process_for_serving() noexcept;

// Splits "HOST:PORT"; throws std::runtime_error for anything else.
[[nodiscard]] std::pair<std::string, int> split_listen_address(std::string_view listen);

}  // namespace idvault::rp
