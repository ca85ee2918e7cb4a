#include "host/rpc/rpc_server.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json_fields.h"
#include "common/quoted_text.h"
#include "host/rpc/attachment_announcement.h"
#include "host/rpc/file_descriptor.h"
#include "host/rpc/json_line_parser.h"
#include "host/rpc/line_framer.h"
#include "host/rpc/open_file_limit.h"

namespace idvault::rpc {
namespace {

// Output room a connection keeps between answers; a larger buffer is given back once sent.
constexpr std::size_t kKeptOutputBytes = 64u << 10;

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string dispatch(const MethodTable& methods, const std::string& line,
                     const CallContext& context, bool& answer) {
  nlohmann::json id = nullptr;
  answer = true;
  try {
    RpcRequest request = parse_request(line, id);
    answer = !request.is_notification;
    const MethodHandler* handler = methods.find(request.method);
    if (handler == nullptr) {
      throw RpcError(RpcCode::method_not_found,
                     "method not found: " + quote_untrusted(request.method));
    }
    if (context.attachment_count() > 0 && !methods.accepts_attachments(request.method)) {
      throw RpcError(RpcCode::invalid_params,
                     "attachments: " + quote_untrusted(request.method) + " takes none");
    }
    nlohmann::json params =
        request.params.is_null() ? nlohmann::json::object() : std::move(request.params);
    // Params may hold document scans (base64) or a PIN a handler did not take: wiped
    // whatever the handler does, like the frame they came from.
    struct WipeOnExit {
      nlohmann::json& json;
      ~WipeOnExit() { json_fields::wipe_strings(json); }
    } wipe{params};
    nlohmann::json result = (*handler)(params, context);
    context.require_all_attachments_taken();  // a handler that takes them checks before it acts
    return format_result(id, std::move(result));
  } catch (const RpcError& error) {
    return format_error(id, error.code(), error.what(), error.data());
  } catch (const nlohmann::json::exception&) {
    return format_error(id, RpcCode::invalid_params,
                        "invalid params: wrong type or missing member");
  } catch (const std::exception&) {
    // Whatever it was may hold details we must not hand to a client (or log).
    return format_error(id, RpcCode::internal_error, "internal error");
  }
}

}  // namespace

struct RpcServer::Impl {
  struct Request {
    std::string line;
    std::vector<Attachment> attachments;
  };
  struct Connection {
    FileDescriptor fd;
    PeerIdentity peer{};
    LineFramer framer;
    std::deque<Request> queued;  // requests waiting for the one in flight
    // Descriptors the client passed that no line has claimed yet. A line's descriptors
    // arrive with its bytes, so by the time it is framed they are here, ahead of any
    // a later line sent; lines take theirs from the front (as Wayland matches them).
    std::deque<FileDescriptor> passed;
    std::string announcing;  // the line whose attachments are arriving
    // Its attachments in announced order: the descriptors it took, and an empty place
    // for each byte attachment still arriving.
    std::vector<Attachment> announced;
    std::string output;           // answers not yet sent in full
    std::size_t output_sent = 0;  // how many of output's bytes went out already
    bool in_flight = false;
    bool reading = true;
    bool close_after_flush = false;
    bool subscribed = false;
    bool peer_closed = false;  // the client shut its sending side; answer what it asked, then close
    explicit Connection(int fd_, PeerIdentity peer_, std::size_t max_frame)
        : fd(fd_), peer(peer_), framer(max_frame) {}
    ~Connection() { ::explicit_bzero(announcing.data(), announcing.size()); }
    Connection(const Connection&) = delete;  // owns its socket
    Connection& operator=(const Connection&) = delete;
  };

  struct Job {
    std::uint64_t connection;
    Request request;
    PeerIdentity peer;
  };
  struct Completion {
    std::uint64_t connection;
    std::string response;  // empty for a notification
    bool subscribe = false;
    bool interim = false;  // a notification ahead of the answer: the call is still running
  };

  FileDescriptor listen_fd;
  FileDescriptor epoll_fd;
  FileDescriptor wake_fd;
  const MethodTable& methods;
  RpcServerOptions options;

  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections;  // loop thread only
  std::uint64_t next_id = 1;
  // Set while the listener is unwatched after a descriptor shortage (loop thread only).
  std::optional<std::chrono::steady_clock::time_point> accept_paused_until;

  std::mutex mutex;  // guards jobs, completions, events, stopping
  std::condition_variable jobs_ready;
  std::deque<Job> jobs;
  std::deque<Completion> completions;
  std::deque<std::string> events;
  bool stopping = false;
  std::atomic<bool> stop_signalled{false};  // set by stop_from_signal(), lock-free
  static_assert(std::atomic<bool>::is_always_lock_free);
  std::vector<std::thread> workers;

  // Room for the descriptors one read can bring (loop thread only).
  std::vector<char> control = std::vector<char>(CMSG_SPACE(sizeof(int) * kMaxDescriptors));

  std::atomic<std::size_t> open_count{0};
  std::atomic<std::size_t> refused_count{0};

  Impl(int fd, const MethodTable& table, RpcServerOptions opts)
      : listen_fd(fd),
        epoll_fd(epoll_create1(EPOLL_CLOEXEC)),
        wake_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        methods(table),
        options(opts) {
    if (epoll_fd.get() < 0 || wake_fd.get() < 0)
      throw std::runtime_error("agent: cannot create event loop");
    set_nonblocking(listen_fd.get());
    watch(listen_fd.get(), 0, EPOLLIN);
    watch(wake_fd.get(), 1, EPOLLIN);
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options.workers); ++i) {
      workers.emplace_back([this] { work(); });
    }
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    jobs_ready.notify_all();
    for (auto& worker : workers) worker.join();
  }

  // Keys 0 and 1 are the listener and the wake-up fd; connections use their id + 1.
  void watch(int fd, std::uint64_t key, std::uint32_t events_mask) {
    epoll_event event{};
    event.events = events_mask;
    event.data.u64 = key;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &event);
  }
  void rewatch(Connection& connection, std::uint64_t id) {
    epoll_event event{};
    event.events = (connection.reading ? EPOLLIN | EPOLLRDHUP : 0u) |
                   (connection.output.empty() ? 0u : EPOLLOUT);
    event.data.u64 = id + 1;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, connection.fd.get(), &event);
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd.get(), &one, sizeof(one));
  }

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex);
        jobs_ready.wait(lock, [this] { return stopping || !jobs.empty(); });
        if (stopping) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      bool subscribe = false;
      std::size_t budget =
          options.max_frame_bytes - std::min(options.max_frame_bytes, job.request.line.size() + 1);
      for (const auto& attachment : job.request.attachments) {
        if (const auto* bytes = std::get_if<SecretBytes>(&attachment))
          budget -= std::min(budget, bytes->size());
      }
      const std::uint64_t connection = job.connection;
      CallContext context(
          job.peer, [&subscribe] { subscribe = true; }, &job.request.attachments, budget,
          [this, connection](std::string line) {
            {
              std::lock_guard lock(mutex);
              completions.push_back({connection, std::move(line), false, true});
            }
            wake();
          });
      bool answer = true;
      std::string response = dispatch(methods, job.request.line, context, answer);
      // The frame may have carried a PIN; it is not needed any more. Attachments a
      // handler did not take wipe themselves with the job.
      ::explicit_bzero(job.request.line.data(), job.request.line.size());
      if (!answer) response.clear();
      {
        std::lock_guard lock(mutex);
        completions.push_back({job.connection, std::move(response), subscribe});
      }
      wake();
    }
  }

  void accept_batch() {
    // A batch at a time: the listener stays readable, so the loop comes back for the rest
    // after handling the hang-ups in between. Accepting the whole backlog at once let a
    // storm of connect-and-leave clients fill the connection table (and refuse others)
    // before any of their hang-ups was seen.
    for (int batch = 0; batch < 64; ++batch) {
      int fd = accept4(listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (is_descriptor_shortage(errno)) pause_accepting();
        return;  // EAGAIN, or a transient error: epoll will tell us again
      }
      FileDescriptor owned(fd);
      auto peer = peer_identity(fd);
      // The uid check holds even if someone loosened the socket's file mode.
      if (!peer || peer->uid != options.allowed_uid) {
        refused_count.fetch_add(1);
        continue;
      }
      if (connections.size() >= options.max_connections) {
        refused_count.fetch_add(1);
        continue;
      }
      std::uint64_t id = next_id++;
      auto connection =
          std::make_unique<Connection>(owned.release(), *peer, options.max_frame_bytes);
      watch(fd, id + 1, EPOLLIN | EPOLLRDHUP);
      connections.emplace(id, std::move(connection));
      open_count.store(connections.size());
    }
  }

  // The listener stays readable while accept4 fails for want of descriptors, so watching
  // it would spin: look away for a while; connections closing meanwhile free some.
  void pause_accepting() {
    epoll_event event{};
    event.data.u64 = 0;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, listen_fd.get(), &event);
    accept_paused_until = std::chrono::steady_clock::now() + accept_backoff;
  }
  // How long epoll_wait may sleep: until the pause ends, or for ever.
  int resume_accepting_when_due() {
    if (!accept_paused_until) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        *accept_paused_until - std::chrono::steady_clock::now());
    if (left.count() > 0) return static_cast<int>(left.count());
    accept_paused_until.reset();
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = 0;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, listen_fd.get(), &event);
    return -1;
  }

  void close_connection(std::uint64_t id) {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, it->second->fd.get(), nullptr);
    connections.erase(it);  // a job still in flight for it finds no connection and is dropped
    open_count.store(connections.size());
  }

  void submit_next(std::uint64_t id, Connection& connection) {
    if (connection.in_flight || connection.queued.empty()) return;
    connection.in_flight = true;
    {
      std::lock_guard lock(mutex);
      jobs.push_back({id, std::move(connection.queued.front()), connection.peer});
    }
    connection.queued.pop_front();
    jobs_ready.notify_one();
  }

  // Returns false if the connection is gone.
  bool read_from(std::uint64_t id, Connection& connection) {
    for (;;) {
      // Read straight into the framer; ask for more room as a frame grows, so a large
      // request takes few system calls and a quiet connection holds a small buffer.
      // An attachment of known size is read in larger pieces, straight into its buffer.
      const std::size_t want =
          connection.framer.awaiting_attachments()
              ? (4u << 20)
              : std::clamp<std::size_t>(connection.framer.buffered(), 16u << 10, 1u << 20);
      std::span<char> space = connection.framer.receive_space(want);
      iovec into{space.data(), space.size()};
      msghdr message{};
      message.msg_iov = &into;
      message.msg_iovlen = 1;
      message.msg_control = control.data();
      message.msg_controllen = control.size();
      ssize_t n = ::recvmsg(connection.fd.get(), &message, MSG_CMSG_CLOEXEC);
      if (n > 0 && !keep_passed(connection, message)) {
        refuse_stream(connection, RpcCode::invalid_request,
                      "invalid request: more than " + std::to_string(kMaxDescriptors) +
                          " descriptors passed and not yet announced");
        return true;
      }
      if (n == 0) {
        connection.peer_closed = true;
        connection.reading = false;
        break;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      if (!connection.framer.commit(static_cast<std::size_t>(n)) || !frame_requests(connection)) {
        // Tell the client why, then hang up: the rest of its stream cannot be framed.
        refuse_stream(connection, RpcCode::frame_too_large,
                      "request too large: the limit is " + std::to_string(options.max_frame_bytes) +
                          " bytes (line and attachments)");
        return true;
      }
      if (connection.close_after_flush) return true;  // a bad announcement was refused
      if (connection.queued.size() >= options.max_queued_frames) {
        connection.reading = false;  // back-pressure: resume once the queue drains
        break;
      }
    }
    submit_next(id, connection);
    return true;
  }

  // Takes the descriptors that came with a read. False if any were lost (more than the
  // control buffer holds, or the agent is out of descriptors) or too many wait unclaimed:
  // which line a later descriptor belongs to can then no longer be known.
  static bool keep_passed(Connection& connection, msghdr& message) {
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
      if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
        connection.passed.emplace_back(fd);
      }
    }
    return (message.msg_flags & MSG_CTRUNC) == 0 && connection.passed.size() <= kMaxDescriptors;
  }

  // The announcing line's attachments, its byte attachments (in order) put in their places.
  static std::vector<Attachment> announced_attachments_of(Connection& connection,
                                                          std::vector<SecretBytes> bytes) {
    std::size_t next_bytes = 0;
    for (Attachment& attachment : connection.announced) {
      if (auto* place = std::get_if<SecretBytes>(&attachment))
        *place = std::move(bytes[next_bytes++]);
    }
    return std::exchange(connection.announced, {});
  }

  void refuse_stream(Connection& connection, RpcCode code, const std::string& message) {
    connection.output += format_error(nullptr, code, message);
    connection.close_after_flush = true;
    connection.reading = false;
    connection.queued.clear();
    ::explicit_bzero(connection.announcing.data(), connection.announcing.size());
    connection.announcing.clear();
    connection.announced.clear();
    connection.passed.clear();
  }

  // Moves every complete request out of the framer. Returns false when the framer went
  // over the limit (a line, or a line and the attachments it announced).
  bool frame_requests(Connection& connection) {
    for (;;) {
      if (connection.framer.awaiting_attachments()) {
        auto attachments = connection.framer.take_attachments();
        if (!attachments) return !connection.framer.oversized();  // more bytes to come
        connection.queued.push_back(
            {std::move(connection.announcing),
             announced_attachments_of(connection, std::move(*attachments))});
        connection.announcing.clear();
      }
      auto frame = connection.framer.next_frame();
      if (!frame) return !connection.framer.oversized();
      if (frame->find_first_not_of(" \t") == std::string::npos) continue;  // blank keep-alive lines
      AttachmentAnnouncement announced = announced_attachments(*frame);
      if (auto* bad = std::get_if<BadAnnouncement>(&announced)) {
        ::explicit_bzero(frame->data(), frame->size());
        refuse_stream(connection, RpcCode::invalid_request, "invalid request: " + bad->message);
        return true;
      }
      if (auto* slots = std::get_if<std::vector<AnnouncedAttachment>>(&announced)) {
        std::vector<std::size_t> sizes;
        std::size_t descriptors = 0;
        for (const AnnouncedAttachment& slot : *slots) {
          if (slot.descriptor) {
            ++descriptors;
          } else {
            sizes.push_back(slot.bytes);
          }
        }
        if (connection.passed.size() < descriptors) {
          ::explicit_bzero(frame->data(), frame->size());
          refuse_stream(connection, RpcCode::invalid_request,
                        "invalid request: attachments: " + std::to_string(descriptors) +
                            " descriptors announced, " + std::to_string(connection.passed.size()) +
                            " passed with the line");
          return true;
        }
        for (const AnnouncedAttachment& slot : *slots) {
          if (!slot.descriptor) {
            connection.announced.emplace_back(SecretBytes());
            continue;
          }
          connection.announced.emplace_back(std::move(connection.passed.front()));
          connection.passed.pop_front();
        }
        if (sizes.empty()) {  // nothing follows on the stream
          connection.queued.push_back(
              {std::move(*frame), announced_attachments_of(connection, {})});
          continue;
        }
        if (!connection.framer.expect_attachments(sizes, frame->size() + 1)) {
          ::explicit_bzero(frame->data(), frame->size());
          return false;
        }
        connection.announcing = std::move(*frame);
        continue;
      }
      connection.queued.push_back({std::move(*frame), {}});
    }
  }

  bool write_to(Connection& connection) {
    std::string& output = connection.output;
    while (connection.output_sent < output.size()) {
      ssize_t n = ::send(connection.fd.get(), output.data() + connection.output_sent,
                         output.size() - connection.output_sent, MSG_NOSIGNAL);
      if (n < 0) {
        // What was sent is dropped only once it is most of the buffer: erasing it after
        // every send moved the rest of a 22 MiB answer a hundred times (a get of 16 MiB
        // of scans spent more time in memmove than in anything else).
        if (connection.output_sent > output.size() / 2) {
          output.erase(0, connection.output_sent);
          connection.output_sent = 0;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      }
      connection.output_sent += static_cast<std::size_t>(n);
    }
    output.clear();
    connection.output_sent = 0;
    // Sent: a quiet connection must not keep the room its largest answer needed (200
    // clients that each once fetched a scan held 3 MiB apiece under agent_load).
    if (output.capacity() > kKeptOutputBytes) std::string().swap(output);
    return !connection.close_after_flush;
  }

  void drain_completions() {
    std::uint64_t counter;
    [[maybe_unused]] auto got = ::read(wake_fd.get(), &counter, sizeof(counter));
    std::deque<Completion> done;
    std::deque<std::string> to_publish;
    {
      std::lock_guard lock(mutex);
      done.swap(completions);
      to_publish.swap(events);
    }
    for (auto& completion : done) {
      auto it = connections.find(completion.connection);
      if (it == connections.end()) continue;
      Connection& connection = *it->second;
      if (completion.interim) {  // queued before the answer, so sent before it
        connection.output += completion.response;
        flush(completion.connection, connection);
        continue;
      }
      connection.in_flight = false;
      connection.subscribed = connection.subscribed || completion.subscribe;
      if (connection.output.empty()) {
        connection.output = std::move(completion.response);  // a scan need not be copied
      } else {
        connection.output += completion.response;
      }
      if (!connection.reading && !connection.close_after_flush &&
          connection.queued.size() < options.max_queued_frames / 2) {
        connection.reading = true;
      }
      submit_next(completion.connection, connection);
      flush(completion.connection, connection);
    }
    for (const auto& line : to_publish) {
      std::vector<std::uint64_t> ids;
      for (auto& [id, connection] : connections) {
        if (connection->subscribed) ids.push_back(id);
      }
      for (auto id : ids) {
        auto& connection = *connections.at(id);
        connection.output += line;
        flush(id, connection);
      }
    }
  }

  void flush(std::uint64_t id, Connection& connection) {
    if (connection.output.size() > options.max_pending_output || !write_to(connection)) {
      close_connection(id);
      return;
    }
    if (connection.peer_closed && !connection.in_flight && connection.queued.empty() &&
        connection.output.empty()) {
      close_connection(id);
      return;
    }
    rewatch(connection, id);
  }

  void run() {
    std::vector<epoll_event> ready(64);
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (stop_signalled.load()) stopping = true;
        if (stopping) {
          jobs_ready.notify_all();
          return;
        }
      }
      const int timeout = resume_accepting_when_due();
      int n = epoll_wait(epoll_fd.get(), ready.data(), static_cast<int>(ready.size()), timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("agent: event loop failed");
      }
      for (int i = 0; i < n; ++i) {
        std::uint64_t key = ready[i].data.u64;
        if (key == 0) {
          accept_batch();
          continue;
        }
        if (key == 1) {
          drain_completions();
          continue;
        }
        std::uint64_t id = key - 1;
        auto it = connections.find(id);
        if (it == connections.end()) continue;
        Connection& connection = *it->second;
        std::uint32_t what = ready[i].events;
        bool alive = true;
        if (what & (EPOLLIN | EPOLLRDHUP)) alive = read_from(id, connection);
        // HUP: both directions are gone, so no answer can reach the client any more.
        if (!alive || (what & (EPOLLERR | EPOLLHUP))) {
          close_connection(id);
          continue;
        }
        flush(id, connection);
      }
    }
  }
};

RpcServer::RpcServer(int listen_fd, const MethodTable& methods, RpcServerOptions options)
    : impl_(std::make_unique<Impl>(listen_fd, methods, options)) {}

RpcServer::~RpcServer() = default;

void RpcServer::run() {
  impl_->run();
}

void RpcServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->jobs_ready.notify_all();
  impl_->wake();
}

void RpcServer::stop_from_signal() noexcept {
  impl_->stop_signalled.store(true);
  impl_->wake();  // write(2) to an eventfd: async-signal-safe
}

void RpcServer::publish(const std::string& method, const nlohmann::json& params) {
  std::string line = format_notification(method, params);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->events.push_back(std::move(line));
  }
  impl_->wake();
}

std::size_t RpcServer::open_connections() const noexcept {
  return impl_->open_count.load();
}
std::size_t RpcServer::refused_peers() const noexcept {
  return impl_->refused_count.load();
}

}  // namespace idvault::rpc
