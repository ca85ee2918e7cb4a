#include "host/rp/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace idvault::rp {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a descriptor exactly once.
class SocketFd {
 public:
  explicit SocketFd(int fd) noexcept : fd_(fd) {}
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  ~SocketFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Waits for fd to be ready for events until the deadline or the io timeout, whichever
// comes first. false on time-out or error.
bool wait_ready(int fd, short events, Clock::time_point deadline,
                std::chrono::milliseconds io_timeout) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const auto wait = std::min(left, io_timeout);
  if (wait.count() <= 0) return false;
  pollfd p{fd, events, 0};
  int rc = 0;
  do {
    rc = ::poll(&p, 1, static_cast<int>(wait.count()));
  } while (rc < 0 && errno == EINTR);
  return rc > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

bool send_all(int fd, std::string_view bytes, Clock::time_point deadline,
              std::chrono::milliseconds io_timeout) {
  while (!bytes.empty()) {
    if (!wait_ready(fd, POLLOUT, deadline, io_timeout)) return false;
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Appends what is available; 0 on orderly close, -1 on time-out or error.
ssize_t receive_some(int fd, std::string& buffer, std::size_t max, Clock::time_point deadline,
                     std::chrono::milliseconds io_timeout) {
  if (!wait_ready(fd, POLLIN, deadline, io_timeout)) return -1;
  char chunk[64 * 1024];
  ssize_t n = 0;
  do {
    n = ::recv(fd, chunk, std::min(sizeof(chunk), max), 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) buffer.append(chunk, static_cast<std::size_t>(n));
  return n;
}

}  // namespace

std::pair<std::string, int> split_listen_address(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::runtime_error("--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  int port = -1;
  const std::string_view digits = listen.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port < 0 || port > 65535) {
    throw std::runtime_error("--listen: bad port '" + std::string(digits.substr(0, 8)) + "'");
  }
  return {std::string(listen.substr(0, colon)), port};
}

HttpServer::HttpServer(std::string_view listen, Handler handler, HttpServerOptions options)
    : handler_(std::move(handler)), options_(options) {
  const auto [host, port] = split_listen_address(listen);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw std::runtime_error("--listen: '" + host.substr(0, 40) + "' is not an IPv4 address");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    const int error = errno;
    ::close(listen_fd_);
    throw std::runtime_error("cannot listen on " + std::string(listen) + ": " +
                             std::strerror(error));
  }
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
}

HttpServer::~HttpServer() {
  stop();
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return active_ == 0; });
  lock.unlock();
  for (int fd : {listen_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void HttpServer::stop() noexcept {
  if (!stopping_.exchange(true)) {
    const char byte = 1;
    (void)!::write(wake_pipe_[1], &byte, 1);
  }
}

void HttpServer::run() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (stopping_.load()) break;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;  // the client gave up meanwhile, or a transient shortage
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bool admitted = false;
    {
      std::lock_guard lock(mutex_);
      if (active_ < options_.max_connections) {
        ++active_;
        admitted = true;
      }
    }
    if (!admitted) {
      const std::string busy = serialize(HttpResponse::error(503, "too many connections; retry"));
      (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    try {
      std::thread([this, fd] { serve_connection(fd); }).detach();
    } catch (...) {
      ::close(fd);
      std::lock_guard lock(mutex_);
      --active_;
      idle_.notify_all();
    }
  }
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return active_ == 0; });
}

void HttpServer::serve_connection(int raw_fd) noexcept {
  {
    SocketFd fd(raw_fd);
    const auto deadline = Clock::now() + options_.request_deadline;
    const auto io = options_.io_timeout;
    const auto answer = [&](const HttpResponse& response) {
      (void)send_all(fd.get(), serialize(response), deadline, io);
    };
    try {
      std::string buffer;
      std::size_t head_end = std::string::npos;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (buffer.size() > options_.max_head_bytes) {
          answer(HttpResponse::error(431, "request head too large"));
          throw std::runtime_error("head too large");
        }
        const ssize_t n = receive_some(
            fd.get(), buffer, options_.max_head_bytes + 4 - buffer.size() + 1, deadline, io);
        if (n <= 0) {
          if (n < 0 && !buffer.empty()) answer(HttpResponse::error(408, "request timed out"));
          throw std::runtime_error("no request");
        }
      }
      if (head_end > options_.max_head_bytes) {
        answer(HttpResponse::error(431, "request head too large"));
        throw std::runtime_error("head too large");
      }
      HttpRequest request;
      HttpHeadError head_error{};
      if (!parse_request_head(std::string_view(buffer).substr(0, head_end), request, head_error)) {
        answer(HttpResponse::error(head_error.status, head_error.message));
        throw std::runtime_error("bad head");
      }
      if (!request.header("transfer-encoding").empty()) {
        answer(HttpResponse::error(411, "send the body with Content-Length"));
        throw std::runtime_error("chunked");
      }
      std::size_t length = 0;
      if (const std::string text = request.header("content-length"); !text.empty()) {
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (ec == std::errc::result_out_of_range)
          length = static_cast<std::size_t>(-1);
        else if (ec != std::errc() || end != text.data() + text.size()) {
          answer(HttpResponse::error(400, "malformed Content-Length"));
          throw std::runtime_error("bad length");
        }
      }
      if (length > options_.max_body_bytes) {
        answer(HttpResponse::error(
            413, "body larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
        throw std::runtime_error("too large");
      }
      request.body = buffer.substr(head_end + 4);
      if (request.body.size() > length) request.body.resize(length);
      if (request.body.size() < length && request.header("expect") == "100-continue") {
        if (!send_all(fd.get(), "HTTP/1.1 100 Continue\r\n\r\n", deadline, io))
          throw std::runtime_error("gone");
      }
      request.body.reserve(length);
      while (request.body.size() < length) {
        const ssize_t n =
            receive_some(fd.get(), request.body, length - request.body.size(), deadline, io);
        if (n <= 0) {
          if (n < 0) answer(HttpResponse::error(408, "request body timed out"));
          throw std::runtime_error("short body");
        }
      }
      HttpResponse response;
      try {
        response = handler_(request);
      } catch (...) {
        response = HttpResponse::error(500, "internal error");
      }
      answer(response);
    } catch (...) {
      // The connection is done with; whatever the client could be told, it was told.
    }
    // Closing with unread input would send a reset that can destroy the answer before
    // the client reads it (a 413 to a client still sending): half-close, then drain a
    // little for a short while.
    ::shutdown(fd.get(), SHUT_WR);
    std::string drain;
    std::size_t drained = 0;
    const auto drain_deadline = Clock::now() + std::chrono::milliseconds(500);
    ssize_t got = 0;
    while (drained < (1u << 20) && (got = receive_some(fd.get(), drain, 64 * 1024, drain_deadline,
                                                       std::chrono::milliseconds(500))) > 0) {
      drained += static_cast<std::size_t>(got);
      drain.clear();
    }
  }
  std::lock_guard lock(mutex_);
  --active_;
  idle_.notify_all();
}

}  // namespace idvault::rp
