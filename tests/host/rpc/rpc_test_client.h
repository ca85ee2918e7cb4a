// A blocking JSON-RPC client for tests: connect, send lines, read lines with a deadline.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace idvault::testing {

class Client {
 public:
  explicit Client(const std::filesystem::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view bytes) const {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the server hung up; the caller checks what it read
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // The bytes with these descriptors passed (SCM_RIGHTS) on the first sendmsg.
  void send_passing(std::string_view bytes, const std::vector<int>& descriptors) const {
    std::vector<char> control(CMSG_SPACE(sizeof(int) * descriptors.size()));
    iovec from{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr message{};
    message.msg_iov = &from;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * descriptors.size());
    std::memcpy(CMSG_DATA(header), descriptors.data(), sizeof(int) * descriptors.size());
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (n > 0) send(bytes.substr(static_cast<std::size_t>(n)));
  }
  void shutdown_sending() const { ::shutdown(fd_, SHUT_WR); }

  // One line, or "" on timeout or end of stream. The default only guards against a hang:
  // an answer can take seconds under sanitizers on two busy cores (init with a recovery
  // password runs Argon2id over 64 MiB), and a test that expects silence passes its own.
  std::string read_line(int timeout_ms = kHangGuardMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto newline = pending_.find('\n'); newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
      }
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return "";
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return "";
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object(), int id = 1) {
    send(nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}
             .dump() +
         "\n");
    std::string line = read_line();
    return line.empty() ? nlohmann::json() : nlohmann::json::parse(line);
  }
  // True once the server has closed its end.
  bool closed_by_server(int timeout_ms = kHangGuardMs) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char c;
    // A server that hangs up while our bytes are still unread in its socket resets the
    // connection instead of closing it: both mean it is gone.
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
  }

 private:
  static constexpr int kHangGuardMs = 60000;
  int fd_ = -1;
  std::string pending_;
};

}  // namespace idvault::testing
