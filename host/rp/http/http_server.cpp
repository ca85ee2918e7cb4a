#include "host/rp/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include "host/rpc/open_file_limit.h"

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

HttpResponse busy(const std::string& message, std::chrono::seconds retry_after) {
  HttpResponse response = HttpResponse::error(503, message);
  response.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return response;
}

}  // namespace

void prepare_process_for_serving() noexcept {
  rpc::raise_open_file_limit();
  // glibc raises its mmap threshold each time a mapped block is freed, up to 32 MiB; past
  // that, a freed body stayed in the heap, and the process's size showed every upload it
  // had ever held at once rather than the body budget.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

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
    : handler_(std::move(handler)),
      options_(options),
      admission_(options.max_connections,
                 std::max<std::size_t>(1, options.max_connections_per_client)),
      body_budget_(std::max(options.body_memory_bytes, options.max_body_bytes)),
      rate_limiter_(options.request_rate) {
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
  admission_.wait_until_idle();
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
  // Set while the listener is not watched after accept4 ran out of descriptors: it stays
  // readable meanwhile, and polling it would spin.
  std::optional<Clock::time_point> paused_until;
  while (!stopping_.load()) {
    int timeout = -1;
    if (paused_until) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*paused_until - Clock::now()).count();
      if (left > 0)
        timeout = static_cast<int>(left);
      else
        paused_until.reset();
    }
    pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    const nfds_t watched = paused_until ? 1 : 2;
    if (::poll(fds, watched, timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (stopping_.load()) break;
    if (watched < 2 || (fds[1].revents & POLLIN) == 0) continue;
    sockaddr_in peer{};
    socklen_t peer_length = sizeof(peer);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Connections closing free descriptors; the waiting clients stay in the backlog.
      if (rpc::is_descriptor_shortage(errno)) paused_until = Clock::now() + rpc::accept_backoff;
      continue;  // otherwise the client gave up meanwhile
    }
    admit(fd, peer.sin_addr.s_addr);
  }
  admission_.wait_until_idle();
}

void HttpServer::admit(int fd, std::uint32_t client) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const auto verdict = admission_.admit(client);
  if (verdict != ConnectionAdmission::Verdict::admitted) {
    const std::string refusal = serialize(busy(verdict == ConnectionAdmission::Verdict::client_full
                                                   ? "too many connections from your address; retry"
                                                   : "too many connections; retry",
                                               std::chrono::seconds(1)));
    (void)!::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    return;
  }
  try {
    std::thread([this, fd, client] { serve_connection(fd, client); }).detach();
  } catch (...) {
    ::close(fd);
    admission_.release(client);
  }
}

void HttpServer::serve_connection(int raw_fd, std::uint32_t client) noexcept {
  {
    SocketFd fd(raw_fd);
    const auto accepted = Clock::now();
    const auto deadline = accepted + options_.request_deadline;
    // The head has a deadline of its own, much shorter than the request's: a client
    // trickling a byte at a time stays under every read timeout.
    const auto head_deadline = std::min(deadline, accepted + options_.header_deadline);
    const auto io = options_.io_timeout;
    bool head_request = false;
    const auto send_answer = [&](const HttpResponse& response) {
      (void)send_all(fd.get(),
                     serialize(response, head_request ? MessageBody::omit : MessageBody::send),
                     deadline, io);
    };
    try {
      std::string buffer;
      std::size_t head_end = std::string::npos;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (buffer.size() > options_.max_head_bytes) {
          send_answer(HttpResponse::error(431, "request head too large"));
          throw std::runtime_error("head too large");
        }
        const ssize_t n = receive_some(
            fd.get(), buffer, options_.max_head_bytes + 4 - buffer.size() + 1, head_deadline, io);
        if (n <= 0) {
          if (n < 0 && !buffer.empty()) send_answer(HttpResponse::error(408, "request timed out"));
          throw std::runtime_error("no request");
        }
      }
      if (head_end > options_.max_head_bytes) {
        send_answer(HttpResponse::error(431, "request head too large"));
        throw std::runtime_error("head too large");
      }
      // Declared before the request, so the request's body is freed before the budget
      // gets its share back.
      BodyMemoryBudget::Share body_memory(body_budget_);
      HttpRequest request;
      HttpHeadError head_error{};
      if (!parse_request_head(std::string_view(buffer).substr(0, head_end), request, head_error)) {
        send_answer(HttpResponse::error(head_error.status, head_error.message));
        throw std::runtime_error("bad head");
      }
      head_request = request.method == "HEAD";
      if (options_.rate_limited_paths.count(request.path) != 0) {
        if (const auto wait = rate_limiter_.take(client, Clock::now())) {
          HttpResponse slow_down = HttpResponse::error(429, "too many requests; retry later");
          slow_down.headers.emplace_back("Retry-After", std::to_string(wait->count()));
          send_answer(slow_down);
          throw std::runtime_error("rate limited");
        }
      }
      if (request.headers.count("transfer-encoding") != 0) {
        send_answer(HttpResponse::error(411, "send the body with Content-Length"));
        throw std::runtime_error("chunked");
      }
      std::size_t length = 0;
      if (const auto it = request.headers.find("content-length"); it != request.headers.end()) {
        const std::string& text = it->second;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (ec == std::errc::result_out_of_range)
          length = static_cast<std::size_t>(-1);
        else if (ec != std::errc() || end != text.data() + text.size()) {
          send_answer(HttpResponse::error(400, "malformed Content-Length"));
          throw std::runtime_error("bad length");
        }
      }
      if (length > options_.max_body_bytes) {
        send_answer(HttpResponse::error(
            413, "body larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
        throw std::runtime_error("too large");
      }
      // The body's buffer grows as bytes arrive, charged to the budget all connections
      // share: a declared length alone costs nothing.
      const auto no_memory = [&] {
        send_answer(
            busy("the server is receiving too much at once; retry", std::chrono::seconds(5)));
        throw std::runtime_error("budget spent");
      };
      request.body = buffer.substr(head_end + 4, length);
      std::string().swap(buffer);  // the head is parsed; its buffer is not needed
      if (!body_memory.resize(request.body.capacity())) no_memory();
      if (request.body.size() < length && request.header("expect") == "100-continue") {
        if (!send_all(fd.get(), "HTTP/1.1 100 Continue\r\n\r\n", deadline, io))
          throw std::runtime_error("gone");
      }
      while (request.body.size() < length) {
        if (request.body.size() == request.body.capacity() &&
            !grow_body_buffer(request.body, length, body_memory))
          no_memory();
        const std::size_t room = std::min(length, request.body.capacity()) - request.body.size();
        const ssize_t n = receive_some(fd.get(), request.body, room, deadline, io);
        if (n <= 0) {
          if (n < 0) send_answer(HttpResponse::error(408, "request body timed out"));
          throw std::runtime_error("short body");
        }
      }
      HttpResponse response;
      try {
        response = handler_(request);
      } catch (...) {
        response = HttpResponse::error(500, "internal error");
      }
      send_answer(response);
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
  admission_.release(client);
}

}  // namespace idvault::rp
