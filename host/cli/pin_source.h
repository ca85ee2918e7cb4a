// Where the CLI gets a PIN: a file (--pin-file), a pinentry-style program named by
// $IDVAULT_PINENTRY, or the terminal with echo off — never argv or the environment. The
// PIN lands in a SecretBytes straight from the read() that fetched it.
#pragma once

#include <optional>
#include <string>

#include "pkcs11/secret_bytes.h"

namespace idvault::cli {

// The longest PIN accepted; PKCS#11 tokens take far less, so more is a mistaken file.
inline constexpr std::size_t kMaxPinBytes = 256;

// In that order of preference: pin_file if given, else $IDVAULT_PINENTRY (run without a
// shell, the prompt as its only argument; the PIN is its standard output up to the first
// newline; a non-zero exit means cancelled), else /dev/tty without echo.
// Throws UsageError for an unreadable or empty file, no terminal, a cancelled entry.
[[nodiscard]] SecretBytes read_pin(const std::optional<std::string>& pin_file,
                                   const std::string& prompt);

}  // namespace idvault::cli
