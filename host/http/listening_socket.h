// A TCP socket bound and listening, before any server runs on it: what a pre-forking
// parent (prefork.h) binds once and hands to each worker's http::Server. Plain POSIX, so
// that neither Asio nor Beast reaches the headers or the processes that only hold it.
#pragma once

#include <string>
#include <string_view>

namespace idvault::http {

class ListeningSocket {
 public:
  // listen: "127.0.0.1:8080" (IPv4 literal and port; port 0 picks a free one). Binds with
  // SO_REUSEADDR and listens (close-on-exec). Throws std::runtime_error naming the address
  // when it cannot, with the words http::Server uses.
  explicit ListeningSocket(std::string_view listen);
  ListeningSocket(ListeningSocket&& other) noexcept;
  ListeningSocket& operator=(ListeningSocket&& other) noexcept;
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;
  ~ListeningSocket();  // closes the descriptor unless released

  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  [[nodiscard]] int port() const noexcept { return port_; }
  // -1 once released (or moved from).
  [[nodiscard]] int descriptor() const noexcept { return fd_; }
  // Gives the descriptor to the caller (http::Server's acceptor), who then closes it.
  [[nodiscard]] int release() noexcept;

 private:
  int fd_ = -1;
  std::string host_;
  int port_ = 0;
};

}  // namespace idvault::http
