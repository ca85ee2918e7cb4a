#include "host/cli/pin_source.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "host/cli/cli_error.h"

extern char** environ;

namespace idvault::cli {
namespace {

// Reads until EOF or the first newline, whichever comes first, into wiping memory.
SecretBytes read_secret_line(int fd, const std::string& where) {
  SecretBytes pin(kMaxPinBytes + 1);
  std::size_t length = 0;
  for (;;) {
    if (length == pin.size())
      throw UsageError(where + ": longer than " + std::to_string(kMaxPinBytes) + " bytes");
    const ssize_t got = ::read(fd, pin.reveal_mutable().data() + length, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw UsageError(where + ": " + std::strerror(errno));
    if (got == 0) break;
    if (pin.reveal()[length] == '\n') break;
    ++length;
  }
  if (length > 0 && pin.reveal()[length - 1] == '\r') --length;
  pin.resize(length);
  return pin;
}

SecretBytes pin_from_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot read PIN file " + path + ": " + std::strerror(errno));
  try {
    SecretBytes pin = read_secret_line(fd, "PIN file " + path);
    ::close(fd);
    return pin;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

SecretBytes pin_from_program(const std::string& program, const std::string& prompt) {
  int from_child[2];
  if (::pipe2(from_child, O_CLOEXEC) != 0)
    throw OperationFailed("cannot create a pipe for IDVAULT_PINENTRY");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  std::string program_arg = program;
  std::string prompt_arg = prompt;
  char* argv[] = {program_arg.data(), prompt_arg.data(), nullptr};
  pid_t child = -1;
  const int spawned = ::posix_spawnp(&child, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(from_child[1]);
  if (spawned != 0) {
    ::close(from_child[0]);
    throw UsageError("cannot run IDVAULT_PINENTRY program " + program + ": " +
                     std::strerror(spawned));
  }
  SecretBytes pin;
  try {
    pin = read_secret_line(from_child[0], "IDVAULT_PINENTRY output");
  } catch (...) {
    ::close(from_child[0]);
    ::waitpid(child, nullptr, 0);
    throw;
  }
  ::close(from_child[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw UsageError("PIN entry cancelled (" + program + ")");
  return pin;
}

// Restores the terminal even when reading throws.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0)
      throw UsageError("cannot read the terminal settings to ask for the PIN");
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON;
    if (::tcsetattr(fd_, TCSAFLUSH, &quiet) != 0)
      throw UsageError("cannot turn off echo to ask for the PIN");
  }
  ~EchoOff() { ::tcsetattr(fd_, TCSAFLUSH, &saved_); }
  EchoOff(const EchoOff&) = delete;  // restores one terminal once
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
};

SecretBytes pin_from_terminal(const std::string& prompt) {
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    throw UsageError("no terminal to ask for the PIN: use --pin-file F or set IDVAULT_PINENTRY");
  }
  SecretBytes pin;
  try {
    const std::string question = prompt + ": ";
    [[maybe_unused]] ssize_t shown = ::write(tty, question.data(), question.size());
    {
      EchoOff quiet(tty);
      pin = read_secret_line(tty, "PIN");
    }
    [[maybe_unused]] ssize_t newline = ::write(tty, "\n", 1);
  } catch (...) {
    ::close(tty);
    throw;
  }
  ::close(tty);
  return pin;
}

}  // namespace

SecretBytes read_pin(const std::optional<std::string>& pin_file, const std::string& prompt) {
  SecretBytes pin;
  if (pin_file) {
    pin = pin_from_file(*pin_file);
  } else if (const char* program = std::getenv("IDVAULT_PINENTRY"); program && *program) {
    pin = pin_from_program(program, prompt);
  } else {
    pin = pin_from_terminal(prompt);
  }
  if (pin.empty()) throw UsageError("empty PIN");
  return pin;
}

}  // namespace idvault::cli
