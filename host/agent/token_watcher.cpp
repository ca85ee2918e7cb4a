#include "host/agent/token_watcher.h"

#include <stdexcept>

namespace idvault::agent {

TokenWatcher::TokenWatcher(std::function<void()> check, TokenWatchTiming timing)
    : check_(std::move(check)), timing_(timing) {
  if (!check_) throw std::invalid_argument("token watcher: no check to run");
  if (timing_.poll_interval.count() <= 0)
    throw std::invalid_argument("token watcher: poll interval must be positive");
  if (timing_.burst_step.count() <= 0)
    throw std::invalid_argument("token watcher: burst step must be positive");
  if (timing_.burst_checks < 0)
    throw std::invalid_argument("token watcher: burst checks must not be negative");
  thread_ = std::thread([this] { run(); });
}

TokenWatcher::~TokenWatcher() {
  stop();
}

void TokenWatcher::nudge() noexcept {
  {
    std::lock_guard lock(mutex_);
    nudged_ = true;
  }
  wake_.notify_one();
}

void TokenWatcher::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::uint64_t TokenWatcher::checks_run() const noexcept {
  std::lock_guard lock(mutex_);
  return checks_run_;
}

void TokenWatcher::run() noexcept {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  Clock::time_point next = Clock::now();
  int burst_left = 0;
  while (!stopping_) {
    if (nudged_) {
      nudged_ = false;
      next = Clock::now();
      burst_left = timing_.burst_checks;
    }
    if (Clock::now() >= next) {
      lock.unlock();
      try {
        check_();
      } catch (...) {
        // A check that throws broke its promise; the next one tries again.
      }
      lock.lock();
      ++checks_run_;
      if (burst_left > 0) {
        --burst_left;
        next = Clock::now() + timing_.burst_step;
      } else {
        next = Clock::now() + timing_.poll_interval;
      }
      continue;
    }
    wake_.wait_until(lock, next, [this] { return stopping_ || nudged_; });
  }
}

}  // namespace idvault::agent
