// The push channel's wake-up inside one idvault-cloud process: a write to an account
// wakes the long polls waiting on it at once. Other processes on the same PostgreSQL
// database are not told; a waiter also wakes every recheck interval and asks the store,
// so their writes arrive within that interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace idvault::cloud {

class ChangeNotifier {
 public:
  // Something changed in account: wakes its waiters.
  void changed(const std::string& account);
  // The account's wake-up count now; pass it to wait_for.
  [[nodiscard]] std::uint64_t version(const std::string& account);
  // Blocks until account changes after `seen`, until `until`, or until shutdown().
  // Returns whether it was woken by a change.
  bool wait(const std::string& account, std::uint64_t seen,
            std::chrono::steady_clock::time_point until);
  // Wakes every waiter for good (the server is stopping: long polls answer at once).
  void shutdown();
  [[nodiscard]] bool stopping();

 private:
  std::mutex mutex_;
  std::condition_variable woken_;
  std::map<std::string, std::uint64_t> versions_;
  bool stopping_ = false;
};

}  // namespace idvault::cloud
