#include "host/cloud/server/change_notifier.h"

namespace idvault::cloud {

void ChangeNotifier::changed(const std::string& account) {
  {
    const std::lock_guard lock(mutex_);
    ++versions_[account];
  }
  woken_.notify_all();
}

std::uint64_t ChangeNotifier::version(const std::string& account) {
  const std::lock_guard lock(mutex_);
  const auto found = versions_.find(account);
  return found == versions_.end() ? 0 : found->second;
}

bool ChangeNotifier::wait(const std::string& account, std::uint64_t seen,
                          std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mutex_);
  const auto moved = [&] {
    const auto found = versions_.find(account);
    return stopping_ || (found != versions_.end() && found->second != seen);
  };
  woken_.wait_until(lock, until, moved);
  const auto found = versions_.find(account);
  return found != versions_.end() && found->second != seen;
}

void ChangeNotifier::shutdown() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  woken_.notify_all();
}

bool ChangeNotifier::stopping() {
  const std::lock_guard lock(mutex_);
  return stopping_;
}

}  // namespace idvault::cloud
