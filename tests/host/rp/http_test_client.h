// A blocking HTTP/1.1 client for tests: one request per connection, reads to EOF.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace idvault::testing {

struct HttpAnswer {
  int status = 0;
  std::string head;
  std::string body;
};

// Connects to 127.0.0.1:port; the caller owns the descriptor.
inline int connect_local(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  return fd;
}

inline HttpAnswer read_answer(int fd) {
  std::string all;
  char chunk[65536];
  ssize_t n = 0;
  while ((n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0)
    all.append(chunk, static_cast<std::size_t>(n));
  HttpAnswer answer;
  const auto end = all.find("\r\n\r\n");
  answer.head = all.substr(0, end);
  if (end != std::string::npos) answer.body = all.substr(end + 4);
  if (all.rfind("HTTP/1.1 ", 0) == 0) answer.status = std::stoi(all.substr(9, 3));
  return answer;
}

// Sends exactly these bytes, then reads the answer.
inline HttpAnswer http_raw(int port, const std::string& bytes) {
  const int fd = connect_local(port);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  HttpAnswer answer = read_answer(fd);
  ::close(fd);
  return answer;
}

// extra_headers: whole header lines, each ending in CRLF ("Cookie: a=b\r\n").
inline HttpAnswer http(int port, const std::string& method, const std::string& target,
                       const std::string& body = {}, const std::string& extra_headers = {}) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
  if (method == "POST")
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  request += "Connection: close\r\n\r\n" + body;
  return http_raw(port, request);
}

}  // namespace idvault::testing
