// The vault's error types. Each says what failed in words a person can act on, and
// never carries secret bytes or document contents.
#pragma once

#include <stdexcept>
#include <string>

#include "common/format_error.h"

namespace idvault::vault {

// Input that does not follow the Telegram Passport format; one type with the
// foundation's decoders, so a caller catches malformed base64 and a bad field alike.
using idvault::FormatError;

// Decryption or unwrapping failed. Deliberately one message for every cause (bad
// length, padding, hash, key), so an attacker probing ciphertexts learns nothing.
class DecryptError : public std::runtime_error {
 public:
  explicit DecryptError(const std::string& what = "decryption failed") : std::runtime_error(what) {}
};

}  // namespace idvault::vault
