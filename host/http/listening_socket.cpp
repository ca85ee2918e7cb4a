#include "host/http/listening_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "host/http/server.h"

namespace idvault::http {

ListeningSocket::ListeningSocket(std::string_view listen) {
  auto [host, port] = split_listen_address(listen);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    throw std::runtime_error("--listen: '" + host.substr(0, 40) + "' is not an IPv4 address");
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int error = fd_ < 0 ? errno : 0;
  const int on = 1;
  if (error == 0 && ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) error = errno;
  if (error == 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    error = errno;
  if (error == 0 && ::listen(fd_, 512) != 0) error = errno;
  socklen_t length = sizeof address;
  if (error == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    error = errno;
  if (error != 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot listen on " + std::string(listen) + ": " +
                             std::generic_category().message(error));
  }
  host_ = std::move(host);
  port_ = ntohs(address.sin_port);
}

ListeningSocket::ListeningSocket(ListeningSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), host_(std::move(other.host_)), port_(other.port_) {}

ListeningSocket& ListeningSocket::operator=(ListeningSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    host_ = std::move(other.host_);
    port_ = other.port_;
  }
  return *this;
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

int ListeningSocket::release() noexcept {
  return std::exchange(fd_, -1);
}

}  // namespace idvault::http
