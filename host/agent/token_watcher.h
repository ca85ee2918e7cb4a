// The thread that keeps the agent's view of its token current: it runs the agent's check
// (HolderAgent::watch) at start, then every poll interval, and at once when nudged —
// a USB device came or went — followed by a short burst of quick re-checks, since pcscd
// and the PKCS#11 module see a card come or go a little after USB does, and a check that
// finds the agent busy with a request is skipped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace idvault::agent {

struct TokenWatchTiming {
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds burst_step{100};  // between the quick re-checks after a nudge
  int burst_checks = 10;                      // re-checks after the one a nudge runs at once
};

class TokenWatcher {
 public:
  // check must not throw (HolderAgent::watch does not); it runs on the watcher's thread.
  // Throws std::invalid_argument for a poll interval or burst step that is not positive,
  // or a negative burst count.
  TokenWatcher(std::function<void()> check, TokenWatchTiming timing = {});
  ~TokenWatcher();                             // stop()
  TokenWatcher(const TokenWatcher&) = delete;  // owns a thread that calls back into check
  TokenWatcher& operator=(const TokenWatcher&) = delete;
  TokenWatcher(TokenWatcher&&) = delete;  // its thread holds `this`
  TokenWatcher& operator=(TokenWatcher&&) = delete;

  // Runs a check as soon as the current one (if any) ends. Safe from any thread, cheap,
  // never blocks on a check; what a hot-plug listener calls.
  void nudge() noexcept;
  // Waits for a running check to end and stops the thread. Idempotent.
  void stop() noexcept;
  // How many checks have run so far.
  [[nodiscard]] std::uint64_t checks_run() const noexcept;

 private:
  void run() noexcept;

  std::function<void()> check_;
  TokenWatchTiming timing_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool nudged_ = false;
  bool stopping_ = false;
  std::uint64_t checks_run_ = 0;
  std::thread thread_;
};

}  // namespace idvault::agent
