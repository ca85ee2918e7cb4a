#include "host/pin/pin_source.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <system_error>

extern char** environ;

namespace idvault::pin {
namespace {

// strerror() is not thread-safe; the service tools read PINs while threads may run.
std::string describe(int error) {
  return std::generic_category().message(error);
}

// Owns a file descriptor, so every early throw closes it.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;  // closed exactly once
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() { close(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Reads until EOF or the first newline into wiping memory, one byte at a time so nothing
// past the line is consumed and no intermediate buffer holds a copy.
SecretBytes read_secret_line(int fd, const std::string& source) {
  SecretBytes pin(kMaxPinBytes + 1);
  std::size_t length = 0;
  for (;;) {
    if (length == pin.size())
      throw PinError(source + ": longer than " + std::to_string(kMaxPinBytes) + " bytes");
    const ssize_t got = ::read(fd, pin.reveal_mutable().data() + length, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw PinError("cannot read the PIN from " + source + ": " + describe(errno));
    if (got == 0) break;
    if (pin.reveal()[length] == '\n') break;
    ++length;
  }
  if (length > 0 && pin.reveal()[length - 1] == '\r') --length;
  pin.resize(length);  // shrinking keeps the buffer; the tail is wiped with it at release
  return pin;
}

SecretBytes pin_from_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw PinError("cannot read PIN file " + path + ": " + describe(errno));
  SecretBytes pin = read_secret_line(fd.get(), "PIN file " + path);
  struct stat st {};
  if (!pin.empty() && ::fstat(fd.get(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    std::cerr << "warning: PIN file " << path << " is readable by others; chmod 600 it\n";
  }
  return pin;
}

// Waits for a child, retrying when a signal interrupts; -1 if it cannot be waited for.
int wait_for(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// The program gets the prompt as argv[1] and the caller's own environment: neither holds
// the PIN, which travels only through the pipe from its standard output.
SecretBytes pin_from_program(const std::string& program, std::string_view prompt) {
  int from_child[2];
  if (::pipe2(from_child, O_CLOEXEC) != 0)
    throw PinError(std::string("cannot create a pipe for ") + kPinentryVariable + ": " +
                   describe(errno));
  Fd read_end(from_child[0]);
  Fd write_end(from_child[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  std::string program_arg = program;
  std::string prompt_arg(prompt);
  char* argv[] = {program_arg.data(), prompt_arg.data(), nullptr};
  pid_t child = -1;
  const int spawned = ::posix_spawnp(&child, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.close();  // so EOF arrives when the child exits
  if (spawned != 0) {
    throw PinError(std::string("cannot run ") + kPinentryVariable + " program " + program + ": " +
                   describe(spawned));
  }
  SecretBytes pin;
  try {
    pin = read_secret_line(read_end.get(), std::string(kPinentryVariable) + " output");
  } catch (...) {
    read_end.close();
    (void)wait_for(child);
    throw;
  }
  read_end.close();
  const int status = wait_for(child);
  if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw PinError("PIN entry cancelled (" + program + ")");
  return pin;
}

// Turns echo off and restores the terminal even when reading throws.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0)
      throw PinError("cannot read the terminal settings to ask for the PIN");
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON;
    if (::tcsetattr(fd_, TCSAFLUSH, &quiet) != 0)
      throw PinError("cannot turn off echo to ask for the PIN");
  }
  ~EchoOff() { ::tcsetattr(fd_, TCSAFLUSH, &saved_); }
  EchoOff(const EchoOff&) = delete;  // restores one terminal once
  EchoOff& operator=(const EchoOff&) = delete;
  EchoOff(EchoOff&&) = delete;
  EchoOff& operator=(EchoOff&&) = delete;

 private:
  int fd_;
  termios saved_{};
};

SecretBytes pin_from_terminal(std::string_view prompt) {
  Fd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (tty.get() < 0) {
    throw PinError(std::string("no terminal to ask for the PIN: use --pin-file F or set ") +
                   kPinentryVariable);
  }
  const std::string question = std::string(prompt) + ": ";
  [[maybe_unused]] const ssize_t shown = ::write(tty.get(), question.data(), question.size());
  SecretBytes pin;
  {
    EchoOff quiet(tty.get());
    pin = read_secret_line(tty.get(), "the terminal");
  }
  [[maybe_unused]] const ssize_t newline = ::write(tty.get(), "\n", 1);
  return pin;
}

// The tools never call setenv, so reading the environment cannot race with a change.
const char* pinentry_program() {
  return std::getenv(kPinentryVariable);  // NOLINT(concurrency-mt-unsafe)
}

}  // namespace

SecretBytes read_pin(const std::optional<std::string>& pin_file, std::string_view prompt) {
  SecretBytes pin;
  if (pin_file) {
    pin = pin_from_file(*pin_file);
  } else if (const char* program = pinentry_program(); program != nullptr && *program != '\0') {
    pin = pin_from_program(program, prompt);
  } else {
    pin = pin_from_terminal(prompt);
  }
  if (pin.empty()) throw PinError("empty PIN");
  return pin;
}

}  // namespace idvault::pin
