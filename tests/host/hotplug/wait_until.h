// Waits for something another thread does. The deadline is a hang guard, not a timing
// assertion: every caller expects the condition within milliseconds.
#pragma once

#include <chrono>
#include <thread>

namespace idvault::testing {

template <typename Condition>
[[nodiscard]] bool wait_until(Condition condition,
                              std::chrono::seconds deadline = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace idvault::testing
