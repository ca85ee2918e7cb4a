// The one translation unit that sees Boost.Asio and Boost.Beast (slow to compile).
#include "host/http/server.h"

#include <malloc.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "host/http/body_memory_budget.h"
#include "host/http/connection_admission.h"
#include "host/http/metrics.h"
#include "host/http/raw_head.h"

namespace idvault::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
using ErrorCode = boost::system::error_code;

// Refused connections are answered (a 503 after the TLS handshake, for a TLS client)
// rather than dropped, but only so many at once: past that a flood is dropped.
constexpr std::size_t kMaxRefusalsInFlight = 64;
// How long a closing connection is drained (up to kMaxDrainBytes) so that closing with
// unread input does not reset the connection before the client read its answer.
constexpr std::chrono::milliseconds kDrainTime{500};
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr unsigned kDefaultHandlerThreads = 32;
// A streamed body is read, and a file answer sent, this many bytes at a time.
constexpr std::size_t kStreamBuffer = std::size_t{256} << 10;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool is_descriptor_shortage(const ErrorCode& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int error = ec.value();
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// A handler's header value must not end the line (or the string) early.
bool is_safe_value(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
  });
}

// The server alone says where an answer ends and whether the connection stays.
bool is_framing_header(std::string_view name) {
  const std::string lower = lowercase(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
         lower == "content-type";
}

beast::string_view to_beast(std::string_view text) {
  return {text.data(), text.size()};
}

Response busy(std::string message, std::chrono::seconds retry_after) {
  Response response = Response::error(503, message);
  response.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return response;
}

}  // namespace

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // From any thread: stop reading new requests; close at once if waiting for one.
  virtual void stop_soon() = 0;
};

class Server::Impl {
 public:
  Impl(ListeningSocket socket, Handler handler, ServerOptions options);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  void run();
  void stop() noexcept;

  const Handler handler_;
  const ServerOptions options_;
  ConnectionAdmission admission_;
  BodyMemoryBudget body_budget_;
  RequestRateLimiter rate_limiter_;
  asio::io_context io_;
  asio::thread_pool workers_;
  std::optional<asio::ssl::context> tls_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_pause_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> refusals_in_flight_{0};

  Family<Counter>* requests_total_ = nullptr;
  Family<Histogram>* handler_seconds_ = nullptr;
  Gauge* connections_open_ = nullptr;

  [[nodiscard]] std::string route_for(const std::string& path) const {
    return options_.metric_routes.count(path) != 0 ? path : "other";
  }
  std::uint64_t add_session(std::weak_ptr<SessionBase> session);
  void remove_session(std::uint64_t id) noexcept;

 private:
  void accept();
  void admit(tcp::socket socket);

  std::mutex sessions_mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;
  std::uint64_t next_session_ = 0;

  std::mutex run_mutex_;
  std::condition_variable run_ended_;
  bool running_ = false;
};

namespace {

// One connection, from accept (and the TLS handshake) to close. Everything it does runs
// on its strand, except the handler, which runs on the server's worker pool.
template <bool kTls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
  using Stream = std::conditional_t<kTls, asio::ssl::stream<tcp::socket>, tcp::socket>;

 public:
  // refusal: answer this at once and close (the connection was not admitted).
  Session(Server::Impl& server, tcp::socket socket, std::uint32_t client, std::string address,
          std::optional<Response> refusal)
      : server_(server),
        stream_(make_stream(server, std::move(socket))),
        timer_(stream_.get_executor()),
        client_(client),
        address_(std::move(address)),
        refusal_(std::move(refusal)),
        accepted_(Clock::now()) {
    if (server_.connections_open_ != nullptr) server_.connections_open_->inc();
  }

  ~Session() override {
    ErrorCode ignored;
    this->socket().close(ignored);
    if (registered_) server_.remove_session(id_);
    if (refusal_)
      --server_.refusals_in_flight_;
    else
      server_.admission_.release(client_);
    if (server_.connections_open_ != nullptr) server_.connections_open_->dec();
  }

  void start() {
    id_ = server_.add_session(this->weak_from_this());
    registered_ = true;
    request_start_ = accepted_;
    head_deadline_ = accepted_ + server_.options_.header_deadline;
    request_deadline_ = accepted_ + server_.options_.request_deadline;
    if constexpr (kTls) {
      handshaking_ = true;
      arm(head_deadline_);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const ErrorCode& ec) {
                                self->handshaking_ = false;
                                self->disarm();
                                if (ec || self->stop_requested_) return self->close_now();
                                self->begin();
                              });
    } else {
      begin();
    }
  }

  void stop_soon() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stop_requested_ = true;
      // Waiting for a request that has not begun, or for a handshake: nothing to answer.
      if (self->handshaking_ || self->waiting_idle_) {
        ErrorCode ignored;
        self->socket().cancel(ignored);
      }
    });
  }

 private:
  static Stream make_stream(Server::Impl& server, tcp::socket socket) {
    if constexpr (kTls)
      return Stream(std::move(socket), *server.tls_);
    else
      return socket;
  }

  tcp::socket& socket() {
    if constexpr (kTls)
      return stream_.next_layer();
    else
      return stream_;
  }

  // Every wait has a deadline: when it passes the socket's operations are cancelled
  // (not the socket closed, so a 408 can still be sent) and timed_out_ says why.
  void arm(Clock::time_point deadline) {
    timed_out_ = false;
    const unsigned generation = ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = this->shared_from_this(), generation](const ErrorCode& ec) {
      if (ec || generation != self->timer_generation_) return;
      self->timed_out_ = true;
      ErrorCode ignored;
      self->socket().cancel(ignored);
    });
  }

  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  [[nodiscard]] Clock::time_point io_deadline(Clock::time_point limit) const {
    return std::min(limit, Clock::now() + server_.options_.io_timeout);
  }

  void begin() {
    if (refusal_) return send(std::move(*refusal_), true);
    begin_request();
  }

  void begin_request() {
    if (stop_requested_ || server_.stopping_.load()) return close_now();
    if (requests_ > 0) {
      request_start_ = Clock::now();
      head_deadline_ = request_start_ + server_.options_.header_deadline;
      request_deadline_ = request_start_ + server_.options_.request_deadline;
    }
    ++requests_;
    request_ = Request{};
    body_memory_.reset();
    request_.client_address = address_;
    request_.tls = kTls;
    route_ = "none";
    head_request_ = false;
    keep_alive_ = false;
    version_ = 11;
    continue_head();
  }

  void continue_head() {
    const std::size_t limit = server_.options_.max_head_bytes;
    if (const auto end = in_.find("\r\n\r\n"); end != std::string::npos) return on_head(end);
    if (in_.size() >= limit + 4) return refuse(431, "request head too large");
    const std::size_t have = in_.size();
    waiting_idle_ = have == 0;
    const std::size_t room = limit + 5 - have;
    in_.resize(have + room);
    arm(io_deadline(head_deadline_));
    stream_.async_read_some(
        asio::buffer(in_.data() + have, room),
        [self = this->shared_from_this(), have](const ErrorCode& ec, std::size_t n) {
          self->waiting_idle_ = false;
          self->disarm();
          self->in_.resize(have + n);
          if (!ec) return self->continue_head();
          // A head that has begun and stalls gets its 408; a
          // connection waiting for its next request is just closed.
          if (self->timed_out_ && !self->in_.empty()) return self->refuse(408, "request timed out");
          self->close_now();
        });
  }

  void on_head(std::size_t head_end) {
    const std::string head_bytes = in_.substr(0, head_end + 4);
    in_.erase(0, head_end + 4);
    if (head_end > server_.options_.max_head_bytes) return refuse(431, "request head too large");
    const std::string_view head = std::string_view(head_bytes).substr(0, head_end);
    HeadFraming framing;
    if (auto refusal = check_raw_head(head, framing))
      return refuse(refusal->status, refusal->message);

    // The raw checks passed the request line as METHOD SP /TARGET SP HTTP/1.x.
    const std::string_view line = head.substr(0, head.find("\r\n"));
    const auto first_space = line.find(' ');
    const auto second_space = line.find(' ', first_space + 1);
    request_.method = std::string(line.substr(0, first_space));
    request_.target = std::string(line.substr(first_space + 1, second_space - first_space - 1));
    const auto question = request_.target.find('?');
    request_.path = request_.target.substr(0, question);
    if (question != std::string::npos)
      request_.query = parse_query(std::string_view(request_.target).substr(question + 1));
    route_ = server_.route_for(request_.path);
    head_request_ = request_.method == "HEAD";
    version_ = line.substr(second_space + 1) == "HTTP/1.0" ? 10 : 11;

    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(head_bytes.size(), std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.eager(false);
    ErrorCode parse_error;
    parser.put(asio::buffer(head_bytes), parse_error);
    const bool parsed = !parse_error && parser.is_header_done();
    if (parsed) {
      for (const auto& field : parser.get())
        request_.headers[lowercase(
            std::string_view(field.name_string().data(), field.name_string().size()))] =
            std::string(field.value().data(), field.value().size());
      keep_alive_ = parser.get().keep_alive();
    }

    if (server_.options_.rate_limited_paths.count(request_.path) != 0) {
      if (const auto wait = server_.rate_limiter_.take(client_, Clock::now())) {
        Response slow_down = Response::error(429, "too many requests; retry later");
        slow_down.headers.emplace_back("Retry-After", std::to_string(wait->count()));
        return send(std::move(slow_down), true);
      }
    }
    if (framing.transfer_encoding) return refuse(411, "send the body with Content-Length");
    if (!parsed) return refuse(400, "malformed request head");
    const std::uint64_t length = framing.content_length.value_or(0);
    if (!framing.content_length &&
        (request_.method == "POST" || request_.method == "PUT" || request_.method == "PATCH")) {
      // No length says "no body"; whatever follows is not read as another request.
      keep_alive_ = false;
    }
    if (length > server_.options_.max_body_bytes) {
      return refuse(
          413, "body larger than " + std::to_string(server_.options_.max_body_bytes) + " bytes");
    }
    body_length_ = static_cast<std::size_t>(length);
    if (body_length_ > 0 && server_.options_.plan_body) return plan_body();
    read_body();
  }

  // The plan may block (a database asked for the account's quota), so it runs on the
  // handler pool like a handler; the connection reads nothing meanwhile.
  void plan_body() {
    auto executor = stream_.get_executor();
    asio::post(server_.workers_, [self = this->shared_from_this(), executor,
                                  work = asio::make_work_guard(server_.io_)]() mutable {
      BodyPlan plan;
      try {
        plan = self->server_.options_.plan_body(self->request_, self->body_length_);
      } catch (...) {
        plan.refusal = Response::error(500, "internal error");
      }
      asio::post(executor, [self = std::move(self), plan = std::move(plan)]() mutable {
        if (plan.refusal) return self->send(std::move(*plan.refusal), true);
        self->sink_ = std::move(plan.sink);
        self->read_body();
      });
      work.reset();
    });
  }

  void read_body() {
    body_memory_.emplace(server_.body_budget_);
    const std::size_t already = std::min(body_length_, in_.size());
    if (sink_) {
      // One buffer for the connection's streamed bodies, charged while a body uses it.
      if (stream_buffer_.empty()) stream_buffer_.resize(kStreamBuffer);
      if (!body_memory_->resize(stream_buffer_.size())) return no_memory();
      if (!feed_sink(std::span(reinterpret_cast<const std::uint8_t*>(in_.data()), already))) return;
      body_filled_ = already;
    } else {
      // The body's buffer grows as bytes arrive, charged to the budget all connections
      // share: a declared length alone costs nothing.
      request_.body = in_.substr(0, already);
      body_filled_ = request_.body.size();
      if (!body_memory_->resize(request_.body.capacity())) return no_memory();
    }
    in_.erase(0, already);
    if (body_filled_ < body_length_ && lowercase(request_.header("expect")) == "100-continue" &&
        version_ == 11) {
      arm(io_deadline(request_deadline_));
      return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = this->shared_from_this()](const ErrorCode& ec, std::size_t) {
                                 self->disarm();
                                 if (ec) return self->close_now();
                                 self->continue_body();
                               });
    }
    continue_body();
  }

  // false: the sink refused (or failed to store) the bytes, and the client has its 500.
  bool feed_sink(std::span<const std::uint8_t> bytes) {
    try {
      if (!bytes.empty()) sink_->write(bytes);
      return true;
    } catch (...) {
      sink_.reset();
      refuse(500, "the request body could not be stored");
      return false;
    }
  }

  void continue_stream() {
    if (body_filled_ == body_length_) {
      request_.body_sink = std::move(sink_);
      return dispatch();
    }
    const std::size_t room = std::min(stream_buffer_.size(), body_length_ - body_filled_);
    arm(io_deadline(request_deadline_));
    stream_.async_read_some(
        asio::buffer(stream_buffer_.data(), room),
        [self = this->shared_from_this()](const ErrorCode& ec, std::size_t n) {
          self->disarm();
          if (n > 0 && !self->feed_sink(std::span(self->stream_buffer_.data(), n))) return;
          self->body_filled_ += n;
          if (!ec) return self->continue_stream();
          if (self->timed_out_) return self->refuse(408, "request body timed out");
          self->close_now();
        });
  }

  void no_memory() {
    Response response =
        busy("the server is receiving too much at once; retry", std::chrono::seconds(5));
    send(std::move(response), true);
  }

  void continue_body() {
    if (sink_) return continue_stream();
    std::string& body = request_.body;
    if (body_filled_ == body_length_) {
      body.resize(body_filled_);
      return dispatch();
    }
    if (body_filled_ == body.size()) {
      // The buffer is full: more room, zero-filled once here. Sizing it to the bytes read
      // after every read made the next read zero-fill the whole rest of the buffer again,
      // a fifth of the cloud server's CPU on a 16 MiB upload.
      body.resize(body_filled_);
      if (body.size() == body.capacity() && !grow_body_buffer(body, body_length_, *body_memory_))
        return no_memory();
      body.resize(std::min(body_length_, body.capacity()));  // within the capacity charged
    }
    const std::size_t have = body_filled_;
    const std::size_t room = body.size() - have;
    arm(io_deadline(request_deadline_));
    stream_.async_read_some(
        asio::buffer(body.data() + have, room),
        [self = this->shared_from_this(), have](const ErrorCode& ec, std::size_t n) {
          self->disarm();
          self->body_filled_ = have + n;
          if (!ec) return self->continue_body();
          if (self->timed_out_) return self->refuse(408, "request body timed out");
          self->close_now();
        });
  }

  void dispatch() {
    auto executor = stream_.get_executor();
    // The io_context has no operation of this connection's pending meanwhile: the guard
    // keeps run() from returning before the answer is written.
    asio::post(server_.workers_, [self = this->shared_from_this(), executor,
                                  work = asio::make_work_guard(server_.io_)]() mutable {
      const auto started = Clock::now();
      Response response;
      try {
        response = self->server_.handler_(self->request_);
      } catch (...) {
        response = Response::error(500, "internal error");
      }
      const std::chrono::duration<double> took = Clock::now() - started;
      asio::post(executor, [self = std::move(self), response = std::move(response),
                            seconds = took.count()]() mutable {
        if (self->server_.handler_seconds_ != nullptr)
          self->server_.handler_seconds_->with({self->route_}).observe(seconds);
        self->send(std::move(response), !self->keep_alive_);
      });
      work.reset();
    });
  }

  void refuse(int status, const std::string& message) {
    send(Response::error(status, message), true);
  }

  void send(Response answer, bool close) {
    // The request is done with (answered, or refused): its body's memory goes back to
    // the budget before the answer is written.
    std::string().swap(request_.body);
    request_.body_sink.reset();
    sink_.reset();
    body_memory_.reset();
    close_after_ = close || stop_requested_ || server_.stopping_.load();
    if (answer.status < 100 || answer.status > 999) answer = Response::error(500, "bad status");
    if (server_.requests_total_ != nullptr)
      server_.requests_total_->with({route_, std::to_string(answer.status)}).inc();
    response_ = std::make_unique<bhttp::response<bhttp::string_body>>();
    auto& out = *response_;
    out.version(version_);
    out.result(static_cast<unsigned>(answer.status));
    out.reason(to_beast(reason_phrase(answer.status)));
    out.set(bhttp::field::content_type, is_safe_value(answer.content_type)
                                            ? to_beast(answer.content_type)
                                            : beast::string_view("application/octet-stream"));
    file_ = std::move(answer.file);
    out.set(bhttp::field::content_length,
            std::to_string(file_ ? file_->size() : answer.body.size()));
    out.set(bhttp::field::connection, close_after_ ? "close" : "keep-alive");
    out.set(bhttp::field::cache_control, "no-store");
    out.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : answer.headers) {
      if (is_token(name) && is_safe_value(value) && !is_framing_header(name))
        out.insert(to_beast(name), to_beast(value));
    }
    // The whole answer, a file's too, has one deadline (a client reading slowly cannot
    // hold the connection by taking a little at a time).
    answer_deadline_ = std::max(request_deadline_, Clock::now() + server_.options_.io_timeout);
    arm(answer_deadline_);
    if (file_) {
      // The head, then the file from disk through one reused buffer.
      serializer_ = std::make_unique<bhttp::response_serializer<bhttp::string_body>>(out);
      return bhttp::async_write_header(
          stream_, *serializer_,
          [self = this->shared_from_this()](const ErrorCode& ec, std::size_t) {
            self->disarm();
            if (ec) return self->answer_sent(ec);
            if (self->head_request_) return self->answer_sent({});
            self->send_file_from(0);
          });
    }
    // A HEAD answer is the GET answer's head: its Content-Length, no body.
    if (!head_request_) out.body() = std::move(answer.body);
    bhttp::async_write(stream_, out,
                       [self = this->shared_from_this()](const ErrorCode& ec, std::size_t) {
                         self->disarm();
                         self->answer_sent(ec);
                       });
  }

  void send_file_from(std::uint64_t offset) {
    if (offset == file_->size()) return answer_sent({});
    if constexpr (!kTls) return sendfile_from(offset);
    if (stream_buffer_.empty()) stream_buffer_.resize(kStreamBuffer);
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(stream_buffer_.size(), file_->size() - offset));
    ssize_t got = -1;
    do {
      got = ::pread(file_->descriptor(), stream_buffer_.data(), want, static_cast<off_t>(offset));
    } while (got < 0 && errno == EINTR);
    // The head promised the length: a file that cannot give it ends the connection.
    if (got <= 0) return close_now();
    const auto sent = static_cast<std::size_t>(got);
    arm(answer_deadline_);
    asio::async_write(
        stream_, asio::buffer(stream_buffer_.data(), sent),
        [self = this->shared_from_this(), offset, sent](const ErrorCode& ec, std::size_t) {
          self->disarm();
          if (ec) return self->answer_sent(ec);
          self->send_file_from(offset + sent);
        });
  }

  // Plain TCP: the kernel hands the file's pages to the socket (sendfile), none of them
  // copied through this process; whenever the socket is full, wait until it drains.
  void sendfile_from(std::uint64_t offset) {
    ErrorCode ec;
    socket().native_non_blocking(true, ec);
    if (ec) return close_now();
    while (offset < file_->size()) {
      auto at = static_cast<off_t>(offset);
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(file_->size() - offset, 1U << 30));
      const ssize_t sent = ::sendfile(socket().native_handle(), file_->descriptor(), &at, want);
      if (sent > 0) {
        offset += static_cast<std::uint64_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      // 0: the file is shorter than the head promised; the connection ends early.
      if (sent == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return close_now();
      arm(answer_deadline_);
      return socket().async_wait(tcp::socket::wait_write,
                                 [self = this->shared_from_this(), offset](const ErrorCode& error) {
                                   self->disarm();
                                   if (error) return self->answer_sent(error);
                                   self->sendfile_from(offset);
                                 });
    }
    answer_sent({});
  }

  void answer_sent(const ErrorCode& ec) {
    serializer_.reset();
    response_.reset();
    file_.reset();
    if (ec) return close_now();
    if (close_after_) return close_gracefully();
    begin_request();
  }

  // Closing with unread input would send a reset that can destroy the answer before the
  // client reads it (a 413 to a client still sending): end TLS, half-close, then drain a
  // little for a short while.
  void close_gracefully() {
    drain_deadline_ = Clock::now() + kDrainTime;
    if constexpr (kTls) {
      arm(drain_deadline_);
      stream_.async_shutdown([self = this->shared_from_this()](const ErrorCode&) {
        self->disarm();
        self->half_close_and_drain();
      });
    } else {
      half_close_and_drain();
    }
  }

  void half_close_and_drain() {
    ErrorCode ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain_buffer_.resize(64 * 1024);
    drain();
  }

  void drain() {
    if (drained_ >= kMaxDrainBytes || Clock::now() >= drain_deadline_) return close_now();
    arm(drain_deadline_);
    socket().async_read_some(asio::buffer(drain_buffer_),
                             [self = this->shared_from_this()](const ErrorCode& ec, std::size_t n) {
                               self->disarm();
                               if (ec) return self->close_now();
                               self->drained_ += n;
                               self->drain();
                             });
  }

  void close_now() {
    disarm();
    ErrorCode ignored;
    socket().close(ignored);
  }

  Server::Impl& server_;
  Stream stream_;
  asio::steady_timer timer_;
  unsigned timer_generation_ = 0;
  bool timed_out_ = false;
  const std::uint32_t client_;
  const std::string address_;
  std::optional<Response> refusal_;
  const Clock::time_point accepted_;
  std::uint64_t id_ = 0;
  bool registered_ = false;
  bool handshaking_ = false;
  bool waiting_idle_ = false;  // for a request of which no byte has come
  bool stop_requested_ = false;

  std::size_t requests_ = 0;
  Clock::time_point request_start_;
  Clock::time_point head_deadline_;
  Clock::time_point request_deadline_;
  std::string in_;  // received and not yet used: the head, and what followed it
  Request request_;
  std::string route_ = "none";
  bool head_request_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::size_t body_length_ = 0;
  std::size_t body_filled_ = 0;  // bytes of the body read so far (the buffer may be longer)
  std::optional<BodyMemoryBudget::Share> body_memory_;
  std::shared_ptr<BodySink> sink_;  // where the body being read goes, when it streams
  // Streamed bodies and file answers pass through this, one connection's, kept between
  // requests (a fresh multi-MiB buffer per request cost more in page faults than its bytes).
  std::vector<std::uint8_t> stream_buffer_;
  std::unique_ptr<bhttp::response<bhttp::string_body>> response_;
  std::unique_ptr<bhttp::response_serializer<bhttp::string_body>> serializer_;
  std::shared_ptr<const FileContent> file_;  // the answer's body, when it is a file
  Clock::time_point answer_deadline_;
  bool close_after_ = true;
  Clock::time_point drain_deadline_;
  std::vector<char> drain_buffer_;
  std::size_t drained_ = 0;
};

asio::ssl::context make_tls_context(const std::filesystem::path& cert,
                                    const std::filesystem::path& key) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  ErrorCode ec;
  context.use_certificate_chain_file(cert.string(), ec);
  if (ec) throw std::runtime_error("cannot load the TLS certificate " + cert.string());
  context.use_private_key_file(key.string(), asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load the TLS key " + key.string());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1)
    throw std::runtime_error("the TLS key " + key.string() + " does not match the certificate");
  return context;
}

}  // namespace

Server::Impl::Impl(ListeningSocket socket, Handler handler, ServerOptions options)
    : handler_(std::move(handler)),
      options_(std::move(options)),
      admission_(options_.max_connections,
                 std::max<std::size_t>(1, options_.max_connections_per_client)),
      body_budget_(std::max(options_.body_memory_bytes, options_.max_body_bytes)),
      rate_limiter_(options_.request_rate),
      workers_(options_.handler_threads != 0 ? options_.handler_threads : kDefaultHandlerThreads),
      acceptor_(asio::make_strand(io_)),
      accept_pause_(acceptor_.get_executor()) {
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    throw std::runtime_error("TLS needs both a certificate and a key");
  if (!options_.tls_cert.empty())
    tls_.emplace(make_tls_context(options_.tls_cert, options_.tls_key));
  if (socket.descriptor() < 0) throw std::logic_error("http::Server: the socket was released");
  ErrorCode ec;
  const int descriptor = socket.release();
  acceptor_.assign(tcp::v4(), descriptor, ec);
  if (ec) {
    ::close(descriptor);
    throw std::runtime_error("cannot serve on " + socket.host() + ":" +
                             std::to_string(socket.port()) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  if (options_.metrics != nullptr) {
    requests_total_ = &options_.metrics->counter(
        "http_requests_total", "HTTP requests answered, by route and status", {"route", "status"});
    handler_seconds_ = &options_.metrics->histogram("http_request_duration_seconds",
                                                    "Time the handler took, by route", {"route"});
    connections_open_ =
        &options_.metrics->gauge("http_connections_open", "HTTP connections open").get();
  }
}

Server::Impl::~Impl() {
  stop();
  {
    std::unique_lock lock(run_mutex_);
    run_ended_.wait(lock, [&] { return !running_; });
  }
  workers_.join();
}

std::uint64_t Server::Impl::add_session(std::weak_ptr<SessionBase> session) {
  std::lock_guard lock(sessions_mutex_);
  const std::uint64_t id = next_session_++;
  sessions_.emplace(id, std::move(session));
  return id;
}

void Server::Impl::remove_session(std::uint64_t id) noexcept {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(id);
}

void Server::Impl::run() {
  {
    std::lock_guard lock(run_mutex_);
    if (running_) throw std::logic_error("Server::run is already running");
    running_ = true;
  }
  io_.restart();
  asio::post(acceptor_.get_executor(), [this] { accept(); });
  const unsigned threads =
      options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> extra;
  try {
    for (unsigned i = 1; i < threads; ++i) extra.emplace_back([this] { io_.run(); });
  } catch (...) {
    // Fewer threads than asked still serve.
  }
  io_.run();
  for (auto& thread : extra) thread.join();
  {
    std::lock_guard lock(run_mutex_);
    running_ = false;
  }
  run_ended_.notify_all();
}

void Server::Impl::stop() noexcept {
  if (stopping_.exchange(true)) return;
  try {
    asio::post(acceptor_.get_executor(), [this] {
      ErrorCode ignored;
      acceptor_.close(ignored);
      accept_pause_.cancel();
    });
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(sessions_mutex_);
      for (const auto& [id, session] : sessions_)
        if (auto alive = session.lock()) live.push_back(std::move(alive));
    }
    for (const auto& session : live) session->stop_soon();
  } catch (...) {
    // Out of memory while stopping: the acceptor's post is what matters, and it is first.
  }
}

void Server::Impl::accept() {
  if (stopping_.load()) return;
  acceptor_.async_accept(asio::make_strand(io_), [this](const ErrorCode& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_.load()) return;
    if (ec) {
      if (!is_descriptor_shortage(ec)) return accept();  // the client gave up meanwhile
      // The listener stays readable while descriptors are short; accepting again at once
      // would spin. Waiting clients stay in the backlog.
      accept_pause_.expires_after(kAcceptBackoff);
      return accept_pause_.async_wait([this](const ErrorCode& wait_error) {
        if (!wait_error) accept();
      });
    }
    admit(std::move(socket));
    accept();
  });
}

void Server::Impl::admit(tcp::socket socket) {
  ErrorCode ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec || !peer.address().is_v4()) return;
  socket.set_option(tcp::no_delay(true), ec);
  const std::uint32_t client = peer.address().to_v4().to_uint();
  std::optional<Response> refusal;
  const auto verdict = admission_.admit(client);
  if (verdict != ConnectionAdmission::Verdict::admitted) {
    if (refusals_in_flight_.fetch_add(1) >= kMaxRefusalsInFlight) {
      --refusals_in_flight_;
      return;
    }
    refusal = busy(verdict == ConnectionAdmission::Verdict::client_full
                       ? "too many connections from your address; retry"
                       : "too many connections; retry",
                   std::chrono::seconds(1));
  }
  // Once constructed, the session owns the admission (or the refusal slot) and gives it
  // back when it goes.
  const auto executor = socket.get_executor();
  bool constructed = false;
  try {
    if (tls_) {
      auto tls_session = std::make_shared<Session<true>>(*this, std::move(socket), client,
                                                         peer.address().to_string(), refusal);
      constructed = true;
      asio::post(executor, [tls_session] { tls_session->start(); });
    } else {
      auto plain_session = std::make_shared<Session<false>>(*this, std::move(socket), client,
                                                            peer.address().to_string(), refusal);
      constructed = true;
      asio::post(executor, [plain_session] { plain_session->start(); });
    }
  } catch (...) {
    // Out of memory, or no TLS state for it: the socket closes unanswered.
    if (!constructed) {
      if (refusal)
        --refusals_in_flight_;
      else
        admission_.release(client);
    }
  }
}

Server::Server(std::string_view listen, Handler handler, ServerOptions options)
    : Server(ListeningSocket(listen), std::move(handler), std::move(options)) {}

Server::Server(ListeningSocket socket, Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(socket), std::move(handler), std::move(options))) {}

Server::~Server() = default;

int Server::port() const noexcept {
  return impl_->port_;
}

void Server::run() {
  impl_->run();
}

void Server::stop() noexcept {
  impl_->stop();
}

void prepare_process_for_serving() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
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

}  // namespace idvault::http
