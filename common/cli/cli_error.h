// How a command of any idvault tool fails: every failure is one line on stderr and an
// exit status a script can switch on (0 ok, 1 the operation failed, 2 bad usage or bad
// input).
#pragma once

#include <stdexcept>
#include <string>

namespace idvault::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// Bad flags, a bad argument, a file that cannot be read: the user can fix the command.
class UsageError : public CliError {
 public:
  explicit UsageError(const std::string& message) : CliError(kExitUsage, message) {}
};

// The agent, the token, the network or the service said no.
class OperationFailed : public CliError {
 public:
  explicit OperationFailed(const std::string& message) : CliError(kExitFailed, message) {}
};

}  // namespace idvault::cli
