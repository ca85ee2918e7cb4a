// Where every idvault tool gets a PIN (or a recovery password): a file (--pin-file), a
// pinentry-style program named by $IDVAULT_PINENTRY, or the terminal with echo off —
// never argv or the environment, where other users (ps, /proc/PID/cmdline) and crash
// reports can read it. The holder's CLI, idvault-rp and idvault-verifier all read PINs
// here, so they share one set of rules and one error type.
//
// The PIN lands in a SecretBytes straight from the read() that fetched it, one byte at a
// time, so no stdio buffer or std::string keeps a copy.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pkcs11/secret_bytes.h"

namespace idvault::pin {

// The longest PIN accepted; PKCS#11 tokens take far less, so more is a mistaken file.
inline constexpr std::size_t kMaxPinBytes = 256;

// The environment variable naming the pinentry-style program.
inline constexpr const char* kPinentryVariable = "IDVAULT_PINENTRY";

// Why no PIN could be had: an unreadable, empty or overlong file, no terminal, a
// cancelled or failed pinentry program. The message names the source, never the PIN.
class PinError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// In that order of preference: pin_file if given (its first line; a warning on stderr if
// group or others may read it), else $IDVAULT_PINENTRY (run without a shell, with the
// prompt as its only argument and the caller's environment; the PIN is its standard
// output up to the first newline; a non-zero exit means cancelled), else /dev/tty with
// echo off, showing "<prompt>: ". A trailing '\r' is dropped. Throws PinError.
[[nodiscard]] SecretBytes read_pin(const std::optional<std::string>& pin_file,
                                   std::string_view prompt);

}  // namespace idvault::pin
