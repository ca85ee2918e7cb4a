#include "host/pin/pin_source.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <span>
#include <system_error>
#include <utility>

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

// Called before each read (a signal caught just before it would not interrupt it) and
// again after one is interrupted; throws to stop reading.
using OnInterrupt = void (*)();
void keep_reading() {}

// Reads until EOF or the first newline into wiping memory, one byte at a time so nothing
// past the line is consumed and no intermediate buffer holds a copy.
SecretBytes read_secret_line(int fd, const std::string& source,
                             OnInterrupt on_interrupt = keep_reading,
                             std::size_t limit = kMaxPinBytes) {
  SecretBytes pin(limit + 1);
  std::size_t length = 0;
  for (;;) {
    if (length == pin.size())
      throw PinError(source + ": longer than " + std::to_string(limit) + " bytes");
    on_interrupt();
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

// A child whose exit status is collected exactly once, even when reading from it throws.
class Child {
 public:
  explicit Child(pid_t pid) noexcept : pid_(pid) {}
  Child(const Child&) = delete;  // waited for once
  Child& operator=(const Child&) = delete;
  Child(Child&&) = delete;
  Child& operator=(Child&&) = delete;
  ~Child() {
    if (pid_ > 0) (void)wait_for(pid_);
  }
  // True when it exited with status 0.
  [[nodiscard]] bool succeeded() {
    const int status = wait_for(std::exchange(pid_, -1));
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

 private:
  pid_t pid_;
};

// Runs program with the prompt as argv[1] and the caller's own environment (neither holds
// the PIN). Its standard output, and for a pinentry its standard input too, is one end of
// a socket pair: the PIN travels only there, and a program that exits early cannot raise
// SIGPIPE in us (send with MSG_NOSIGNAL).
pid_t spawn_prompt_program(const std::string& program, std::string_view prompt, int theirs,
                           bool own_stdin, const char* variable) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs, STDOUT_FILENO);
  if (own_stdin) posix_spawn_file_actions_adddup2(&actions, theirs, STDIN_FILENO);
  std::string program_arg = program;
  std::string prompt_arg(prompt);
  char* argv[] = {program_arg.data(), prompt_arg.data(), nullptr};
  pid_t child = -1;
  const int spawned = ::posix_spawnp(&child, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw PinError(std::string("cannot run ") + variable + " program " + program + ": " +
                   describe(spawned));
  }
  return child;
}

void send_line(int fd, const std::string& line, const std::string& program) {
  std::string_view rest(line);
  while (!rest.empty()) {
    const ssize_t sent = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) throw PinError("the pinentry program " + program + " stopped answering");
    rest.remove_prefix(static_cast<std::size_t>(sent));
  }
}

// Assuan's escaping of a command's argument: '%', CR, LF and other control bytes as %XX.
std::string assuan_escape(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == '%' || byte == 0x7f) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", byte);
      escaped += hex;
    } else {
      escaped += c;
    }
  }
  return escaped;
}

int hex_digit(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The PIN from a "D " data line, percent-decoded into wiping memory (pinentry escapes
// '%', CR, LF and control bytes that way).
SecretBytes decode_data_line(std::span<const std::uint8_t> data, const std::string& program) {
  SecretBytes pin(data.size());
  std::size_t length = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::uint8_t byte = data[i];
    if (byte == '%') {
      if (i + 2 >= data.size())
        throw PinError("the pinentry program " + program + " sent a broken escape");
      const int hi = hex_digit(data[i + 1]);
      const int lo = hex_digit(data[i + 2]);
      if (hi < 0 || lo < 0)
        throw PinError("the pinentry program " + program + " sent a broken escape");
      byte = static_cast<std::uint8_t>(hi * 16 + lo);
      i += 2;
    }
    pin.reveal_mutable()[length++] = byte;
  }
  if (length > kMaxPinBytes) {
    throw PinError("the pinentry program " + program + " sent more than " +
                   std::to_string(kMaxPinBytes) + " bytes");
  }
  pin.resize(length);
  return pin;
}

// The program's own words (an ERR line) for a message: printable ASCII only, bounded.
std::string printable(std::string_view text) {
  std::string shown;
  for (const char c : text.substr(0, 120)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return shown;
}

bool starts_with(std::span<const std::uint8_t> line, std::string_view prefix) {
  return line.size() >= prefix.size() &&
         std::memcmp(line.data(), prefix.data(), prefix.size()) == 0;
}

// A pinentry greets before it asks anything: "OK" alone or "OK <text>".
bool is_assuan_greeting(const SecretBytes& line) {
  const auto bytes = line.reveal();
  return (bytes.size() == 2 && starts_with(bytes, "OK")) || starts_with(bytes, "OK ");
}

// Assuan's longest line is 1000 bytes; a data line holds at most a PIN escaped three-fold.
constexpr std::size_t kAssuanLine = 1000;

// Reads answer lines up to the OK (returned as true) or ERR (false), passing over status
// and comment lines; a "D " line's data is decoded into *data when given.
bool read_assuan_answer(int fd, const std::string& program, SecretBytes* data, std::string* error) {
  for (;;) {
    SecretBytes line =
        read_secret_line(fd, "the pinentry program " + program, keep_reading, kAssuanLine);
    const auto bytes = line.reveal();
    if (bytes.empty()) throw PinError("the pinentry program " + program + " stopped answering");
    if ((bytes.size() == 2 && starts_with(bytes, "OK")) || starts_with(bytes, "OK ")) return true;
    if (starts_with(bytes, "ERR")) {
      if (error) *error = std::string(line.reveal_text());
      return false;
    }
    if (starts_with(bytes, "D ") && data != nullptr) {
      *data = decode_data_line(bytes.subspan(2), program);
    } else if (starts_with(bytes, "INQUIRE")) {
      send_line(fd, "CAN\n", program);  // nothing we could add; the pinentry goes on without it
    }
    // "S ..." status and "# ..." comments: nothing to do.
  }
}

// gpg-error's GPG_ERR_CANCELED (99) and GPG_ERR_FULLY_CANCELED (198), whatever source
// the pinentry put in the high bits.
bool is_cancel(const std::string& error) {
  const unsigned long code = std::strtoul(error.c_str() + 3, nullptr, 10);
  return (code & 0xFFFF) == 99 || (code & 0xFFFF) == 198;
}

// The pinentry protocol, as gpg-agent speaks it: options for the terminal it should
// use, the texts, GETPIN, BYE.
SecretBytes pin_from_pinentry(int fd, const std::string& program, std::string_view prompt) {
  if (const int tty = ::open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY); tty >= 0) {
    std::array<char, 256> name{};
    const bool named = ::ttyname_r(tty, name.data(), name.size()) == 0;
    ::close(tty);
    if (named) {
      send_line(fd, "OPTION ttyname=" + assuan_escape(name.data()) + "\n", program);
      (void)read_assuan_answer(fd, program, nullptr, nullptr);  // an old pinentry may not know it
      if (const char* term = std::getenv("TERM");
          term != nullptr && *term != '\0') {  // NOLINT(concurrency-mt-unsafe)
        send_line(fd, "OPTION ttytype=" + assuan_escape(term) + "\n", program);
        (void)read_assuan_answer(fd, program, nullptr, nullptr);
      }
    }
  }
  for (const std::string& command :
       {std::string("SETTITLE idvault"),
        "SETDESC " + assuan_escape("idvault asks for: " + std::string(prompt)),
        "SETPROMPT " + assuan_escape(std::string(prompt) + ":")}) {
    send_line(fd, command + "\n", program);
    std::string error;
    if (!read_assuan_answer(fd, program, nullptr, &error)) {
      throw PinError("the pinentry program " + program + " refused " +
                     command.substr(0, command.find(' ')));
    }
  }
  send_line(fd, "GETPIN\n", program);
  SecretBytes pin;
  std::string error;
  if (!read_assuan_answer(fd, program, &pin, &error)) {
    if (is_cancel(error)) throw PinError("PIN entry cancelled (" + program + ")");
    throw PinError("the pinentry program " + program + " failed: " + printable(error));
  }
  send_line(fd, "BYE\n", program);
  (void)read_assuan_answer(fd, program, nullptr, nullptr);
  return pin;
}

enum class Convention {
  askpass,              // $IDVAULT_ASKPASS: the PIN is the first line of its output
  askpass_or_pinentry,  // $IDVAULT_PINENTRY: told apart by the first line (a pinentry greets "OK")
};

SecretBytes pin_from_program(const std::string& program, std::string_view prompt,
                             Convention convention, const char* variable) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw PinError(std::string("cannot create a socket pair for ") + variable + ": " +
                   describe(errno));
  Fd ours(pair[0]);
  Fd theirs(pair[1]);
  Child child(spawn_prompt_program(program, prompt, theirs.get(), convention != Convention::askpass,
                                   variable));
  theirs.close();  // so EOF arrives when the child exits
  SecretBytes pin;
  try {
    SecretBytes first =
        read_secret_line(ours.get(), std::string(variable) + " output", keep_reading, kAssuanLine);
    if (convention == Convention::askpass_or_pinentry && is_assuan_greeting(first)) {
      pin = pin_from_pinentry(ours.get(), program, prompt);
    } else if (first.size() > kMaxPinBytes) {
      throw PinError(std::string(variable) + " output: longer than " +
                     std::to_string(kMaxPinBytes) + " bytes");
    } else {
      pin = std::move(first);
    }
  } catch (...) {
    ours.close();  // a pinentry waiting for our next command sees EOF and exits, so it can be
                   // waited for
    throw;
  }
  ours.close();
  if (!child.succeeded()) throw PinError("PIN entry cancelled (" + program + ")");
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

// Signals that end or stop us while echo is off: without restoring the terminal first,
// Ctrl-C would leave the shell typing blind. The list readpassphrase(3) catches.
constexpr std::array kTerminalSignals = {SIGALRM, SIGHUP,  SIGINT,  SIGPIPE, SIGQUIT,
                                         SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};

volatile sig_atomic_t g_caught_signal = 0;
pthread_t g_reading_thread;

void note_signal(int signal) {
  g_caught_signal = signal;
  // Delivered to another thread (the service tools have several), the read would go on
  // blocking: pass it to the reading thread, which then sees the flag.
  if (!::pthread_equal(::pthread_self(), g_reading_thread))
    ::pthread_kill(g_reading_thread, signal);
}

// A signal was caught during the read: stop reading (the terminal is restored on the way out).
struct Interrupted {
  int signal;
};
void throw_if_signalled() {
  if (const int signal = g_caught_signal; signal != 0) throw Interrupted{signal};
}

// Catches kTerminalSignals while it lives (without SA_RESTART, so the read returns EINTR),
// and puts the previous dispositions back.
class CatchTerminalSignals {
 public:
  CatchTerminalSignals() {
    g_caught_signal = 0;
    g_reading_thread = ::pthread_self();
    struct sigaction catching {};
    catching.sa_handler = note_signal;
    sigemptyset(&catching.sa_mask);
    for (std::size_t i = 0; i < kTerminalSignals.size(); ++i)
      ::sigaction(kTerminalSignals[i], &catching, &saved_[i]);
  }
  ~CatchTerminalSignals() {
    for (std::size_t i = 0; i < kTerminalSignals.size(); ++i)
      ::sigaction(kTerminalSignals[i], &saved_[i], nullptr);
  }
  CatchTerminalSignals(const CatchTerminalSignals&) = delete;  // restores the dispositions once
  CatchTerminalSignals& operator=(const CatchTerminalSignals&) = delete;
  CatchTerminalSignals(CatchTerminalSignals&&) = delete;
  CatchTerminalSignals& operator=(CatchTerminalSignals&&) = delete;

 private:
  std::array<struct sigaction, kTerminalSignals.size()> saved_{};
};

SecretBytes pin_from_terminal(std::string_view prompt) {
  Fd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (tty.get() < 0) {
    throw PinError(std::string("no terminal to ask for the PIN: use --pin-file F or set ") +
                   kPinentryVariable + " (or " + kAskpassVariable + ")");
  }
  const std::string question = std::string(prompt) + ": ";
  for (;;) {
    [[maybe_unused]] const ssize_t shown = ::write(tty.get(), question.data(), question.size());
    SecretBytes pin;
    int signal = 0;
    {
      const CatchTerminalSignals catching;  // outlives the echo: restored first, then the handlers
      const EchoOff quiet(tty.get());
      try {
        pin = read_secret_line(tty.get(), "the terminal", throw_if_signalled);
      } catch (const Interrupted& interrupted) {
        signal = interrupted.signal;
      }
    }
    [[maybe_unused]] const ssize_t newline = ::write(tty.get(), "\n", 1);
    if (signal == 0) return pin;
    // With the terminal as it was and our caller's disposition back, the signal does what
    // it would have done: end us, stop us (Ctrl-Z), or whatever the caller chose. If we
    // are still here (continued after a stop, or the signal is handled), ask again.
    ::raise(signal);
  }
}

// The tools never call setenv, so reading the environment cannot race with a change.
const char* program_named_by(const char* variable) {
  const char* program = std::getenv(variable);  // NOLINT(concurrency-mt-unsafe)
  return program != nullptr && *program != '\0' ? program : nullptr;
}

}  // namespace

SecretBytes read_pin(const std::optional<std::string>& pin_file, std::string_view prompt) {
  SecretBytes pin;
  if (pin_file) {
    pin = pin_from_file(*pin_file);
  } else if (const char* askpass = program_named_by(kAskpassVariable)) {
    pin = pin_from_program(askpass, prompt, Convention::askpass, kAskpassVariable);
  } else if (const char* pinentry = program_named_by(kPinentryVariable)) {
    pin = pin_from_program(pinentry, prompt, Convention::askpass_or_pinentry, kPinentryVariable);
  } else {
    pin = pin_from_terminal(prompt);
  }
  if (pin.empty()) throw PinError("empty PIN");
  return pin;
}

}  // namespace idvault::pin
