// Who may open one more connection to the HTTP server: at most a total at once, and at
// most a share of that from one client address, so one client holding idle sockets
// cannot lock everyone else out.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace idvault::http {

class ConnectionAdmission {
 public:
  enum class Verdict { admitted, server_full, client_full };

  ConnectionAdmission(std::size_t max_total, std::size_t max_per_client);

  // client: the peer's IPv4 address. An admitted connection must be release()d once.
  [[nodiscard]] Verdict admit(std::uint32_t client);
  void release(std::uint32_t client) noexcept;
  // Returns once every admitted connection has been released.
  void wait_until_idle();

 private:
  const std::size_t max_total_;
  const std::size_t max_per_client_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t total_ = 0;
  std::unordered_map<std::uint32_t, std::size_t> per_client_;  // only clients with one open
};

}  // namespace idvault::http
