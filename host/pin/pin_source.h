// Where every idvault tool gets a PIN (or a recovery password): a file (--pin-file), a
// program named by $IDVAULT_ASKPASS (ssh-askpass style) or $IDVAULT_PINENTRY (a
// pinentry, spoken to as gpg-agent does, or an askpass program as before), or the
// terminal with echo off — never argv or the environment, where other users (ps,
// /proc/PID/cmdline) and crash reports can read it. The holder's CLI, idvault-rp and
// idvault-verifier all read PINs here, so they share one set of rules and one error type.
//
// The PIN lands in a SecretBytes straight from the read() that fetched it, one byte at a
// time, so no stdio buffer or std::string keeps a copy.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"

namespace idvault::pin {

// The longest PIN accepted; PKCS#11 tokens take far less, so more is a mistaken file.
inline constexpr std::size_t kMaxPinBytes = 256;

// A program that speaks the pinentry (Assuan) protocol: pinentry-tty, -curses, -gnome3...
// For compatibility an askpass-style program may be named here too: the two are told
// apart by the first line the program writes, which a pinentry sends before it asks
// anything ("OK" or "OK <greeting>") and an askpass program only once the PIN is typed.
inline constexpr const char* kPinentryVariable = "IDVAULT_PINENTRY";
// An askpass-style program (as SSH_ASKPASS): the prompt its only argument, the PIN the
// first line of its output, a non-zero exit status a cancel. Never probed for a greeting.
inline constexpr const char* kAskpassVariable = "IDVAULT_ASKPASS";

// Why no PIN could be had: an unreadable, empty or overlong file, no terminal, a
// cancelled or failed pinentry program. The message names the source, never the PIN.
class PinError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// In that order of preference: pin_file if given (its first line; a warning on stderr if
// group or others may read it), else $IDVAULT_ASKPASS, else $IDVAULT_PINENTRY (each run
// without a shell, with the prompt as its only argument and the caller's environment),
// else /dev/tty with echo off, showing "<prompt>: ". A signal that would end or stop the
// process while echo is off (Ctrl-C, Ctrl-Z, SIGTERM, SIGHUP...) first restores the
// terminal, then takes its course; after a stop the question is asked again. A
// pinentry's cancel or an askpass program's non-zero exit is "PIN entry cancelled". A
// trailing '\r' is dropped. Throws PinError.
[[nodiscard]] SecretBytes read_pin(const std::optional<std::string>& pin_file,
                                   std::string_view prompt);

}  // namespace idvault::pin
