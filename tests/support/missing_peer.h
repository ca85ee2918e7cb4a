// A test that needs a program beside idvault (python-telegram-bot, python3-cryptography)
// skips without it on a developer's machine and fails under CI (CI set and not "false"
// or "0"), where a missing peer means the test tested nothing. The shell tests use
// tests/support/missing_peer.sh, the same rule.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace idvault::testing {

[[nodiscard]] inline bool running_under_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string_view value(ci);
  return !value.empty() && value != "false" && value != "0";
}

}  // namespace idvault::testing

// In a test body or SetUp: skips, or under CI fails, with why.
#define IDVAULT_SKIP_MISSING_PEER(why)                                                    \
  do {                                                                                    \
    if (::idvault::testing::running_under_ci()) {                                         \
      FAIL() << why << " (CI is set: a missing peer fails under CI instead of skipping)"; \
    } else {                                                                              \
      GTEST_SKIP() << why;                                                                \
    }                                                                                     \
  } while (false)
