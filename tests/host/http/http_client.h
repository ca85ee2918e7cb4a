// A blocking HTTP/1.1 test client on a raw socket, plain or TLS (OpenSSL directly, no
// certificate check: the tests' server has a throwaway self-signed one). It sends bytes
// exactly as given, so tests can send what no well-behaved client would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/openssl_owners.h"

namespace idvault::http::test {

using SslCtx = std::unique_ptr<SSL_CTX, openssl::FreeWith<&SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, openssl::FreeWith<&SSL_free>>;

struct ParsedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Client {
 public:
  Client(int port, bool tls, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_timeout(timeout);
    if (tls) {
      context_.reset(SSL_CTX_new(TLS_client_method()));
      // A close without close_notify reads as the end of the stream, as over plain TCP.
      SSL_CTX_set_options(context_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
      ssl_.reset(SSL_new(context_.get()));
      SSL_set_fd(ssl_.get(), fd_);
      if (SSL_connect(ssl_.get()) != 1) {
        ERR_clear_error();
        ::close(fd_);
        throw std::runtime_error("TLS handshake failed");
      }
    }
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  void set_timeout(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<long>(timeout.count() / 1000);
    tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }

  // false when the server closed or reset the connection meanwhile.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = ssl_ ? SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()))
                         : static_cast<int>(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL));
      if (n <= 0) {
        ERR_clear_error();
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response; std::nullopt when the connection ends (or times out) first.
  // head_request: the answer to a HEAD has no body whatever its Content-Length says.
  std::optional<ParsedResponse> read_response(bool head_request = false) {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    ParsedResponse response;
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    const auto line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      const std::string line = head.substr(pos, next - pos);
      pos = next + 2;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers[name] = value;
    }
    if (response.status == 100) return read_response(head_request);
    const std::size_t length =
        head_request || response.header("content-length").empty()
            ? 0
            : static_cast<std::size_t>(std::stoull(response.header("content-length")));
    while (buffer_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // Whether the server closed the connection (end of stream, nothing more sent) within
  // the socket timeout.
  bool closed_by_server() {
    while (fill()) {
    }
    return ended_;
  }

  // Bytes received past the last response read.
  [[nodiscard]] const std::string& unread() const noexcept { return buffer_; }

 private:
  bool fill() {
    char chunk[16 * 1024];
    const int n = ssl_ ? SSL_read(ssl_.get(), chunk, sizeof(chunk))
                       : static_cast<int>(::recv(fd_, chunk, sizeof(chunk), 0));
    if (n <= 0) {
      if (ssl_) {
        const int error = SSL_get_error(ssl_.get(), n);
        ended_ = error == SSL_ERROR_ZERO_RETURN ||
                 (error == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
        ERR_clear_error();
      } else {
        ended_ = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      }
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  SslCtx context_;
  Ssl ssl_;
  std::string buffer_;
  bool ended_ = false;
};

}  // namespace idvault::http::test
