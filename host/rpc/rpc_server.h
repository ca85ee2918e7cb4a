// The agent's socket loop: one epoll thread owns every connection; token and vault
// work runs on worker threads, so a slow token or a hostile client never stalls the
// others. Requests on one connection are answered in order, one at a time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "host/rpc/method_table.h"

namespace idvault::rpc {

struct RpcServerOptions {
  std::size_t max_frame_bytes = 32u << 20;     // a longer line is refused, the connection closed
  std::size_t max_pending_output = 64u << 20;  // a client that never reads is dropped
  std::size_t max_queued_frames = 64;          // pipelined requests past this pause reading
  std::size_t max_connections = 1024;
  std::size_t workers = 4;
  uid_t allowed_uid = 0;  // only this uid may talk to the agent (root is not special)
};

class RpcServer {
 public:
  // Takes ownership of listen_fd (a listening, non-blocking-capable Unix stream socket).
  RpcServer(int listen_fd, const MethodTable& methods, RpcServerOptions options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;  // owns threads and file descriptors
  RpcServer& operator=(const RpcServer&) = delete;

  // Serves until stop(). Call from one thread.
  void run();
  // Thread-safe, async-signal-unsafe; wakes run() and makes it return.
  void stop();
  // The same from a signal handler: only sets a lock-free flag and writes to the
  // wake-up eventfd; run() does the rest on its own thread. (stop() takes the server's
  // mutex, which the interrupted thread may be holding.)
  void stop_from_signal() noexcept;
  // Sends a JSON-RPC notification to every connection that subscribed to events.
  void publish(const std::string& method, const nlohmann::json& params);

  // Counters for tests and load tools.
  [[nodiscard]] std::size_t open_connections() const noexcept;
  [[nodiscard]] std::size_t refused_peers() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idvault::rpc
