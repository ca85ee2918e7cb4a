// Lowercase hex, the form of every SHA-256 fingerprint and nonce idvault writes itself
// (Bot API fields use base64: vault/base64.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace idvault {

[[nodiscard]] std::string hex_lower(std::span<const std::uint8_t> bytes);

}  // namespace idvault
