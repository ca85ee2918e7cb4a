// The vault's error types. Each says what failed in words a person can act on, and
// never carries secret bytes or document contents.
#pragma once

#include <stdexcept>
#include <string>

namespace idvault::vault {

// Input that does not follow the Telegram Passport format: a bad field, a malformed
// link or scope, JSON of the wrong shape. The message names the element and the field.
class FormatError : public std::runtime_error {
 public:
  FormatError(std::string where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  // e.g. "personal_details.birth_date", "scope.data[2]", "link.public_key"
  [[nodiscard]] const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

// Decryption or unwrapping failed. Deliberately one message for every cause (bad
// length, padding, hash, key), so an attacker probing ciphertexts learns nothing.
class DecryptError : public std::runtime_error {
 public:
  explicit DecryptError(const std::string& what = "decryption failed") : std::runtime_error(what) {}
};

}  // namespace idvault::vault
