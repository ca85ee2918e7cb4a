// Lowercase hex, the form of every SHA-256 fingerprint and nonce idvault writes itself
// (Bot API fields use base64: common/base64.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace idvault {

[[nodiscard]] std::string hex_lower(std::span<const std::uint8_t> bytes);

// The value of one hex digit, either case (as in a %XX escape), or -1 for any other byte.
[[nodiscard]] constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace idvault
