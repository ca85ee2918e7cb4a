#include "host/rp/pin_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace idvault::rp {
namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;  // closed exactly once
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Reads up to the first newline straight into the secret, one byte at a time, so no
// stdio buffer keeps a copy.
SecretBytes read_line(int fd, const std::string& source) {
  constexpr std::size_t kMaxPin = 256;
  SecretBytes pin(kMaxPin);
  std::size_t length = 0;
  while (length < kMaxPin) {
    const ssize_t got = ::read(fd, pin.reveal_mutable().data() + length, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw std::runtime_error("cannot read the PIN from " + source + ": " + std::strerror(errno));
    if (got == 0) break;
    const auto c = pin.reveal()[length];
    if (c == '\n') break;
    ++length;
  }
  while (length > 0 && pin.reveal()[length - 1] == '\r') --length;
  SecretBytes line(pin.reveal().first(length));
  if (line.empty()) throw std::runtime_error("the PIN from " + source + " is empty");
  return line;
}

// Restores the terminal's echo even when reading throws.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    active_ = ::tcgetattr(fd_, &saved_) == 0;
    if (!active_) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd_, TCSAFLUSH, &quiet);
  }
  EchoOff(const EchoOff&) = delete;  // restores once
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace

SecretBytes read_pin(const std::optional<std::string>& pin_file, std::string_view prompt) {
  if (pin_file) {
    Fd fd(::open(pin_file->c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
      throw std::runtime_error("cannot open PIN file '" + *pin_file + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      std::cerr << "warning: PIN file '" << *pin_file << "' is readable by others; chmod 600 it\n";
    }
    return read_line(fd.get(), "PIN file '" + *pin_file + "'");
  }
  Fd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (tty.get() < 0) throw std::runtime_error("no PIN: give --pin-file F or run on a terminal");
  const std::string text(prompt);
  (void)!::write(tty.get(), text.data(), text.size());
  SecretBytes pin = [&] {
    EchoOff quiet(tty.get());
    return read_line(tty.get(), "the terminal");
  }();
  (void)!::write(tty.get(), "\n", 1);
  return pin;
}

SecretBytes read_token_pin(const boost::program_options::variables_map& vm) {
  const std::optional<std::string> pin_file =
      vm.count("pin-file") ? std::optional(vm["pin-file"].as<std::string>()) : std::nullopt;
  return read_pin(pin_file, "Token PIN: ");
}

}  // namespace idvault::rp
