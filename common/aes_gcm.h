// AES-256-GCM with a 12-byte IV and the 16-byte tag after the ciphertext: what the
// recovery key's envelope and the relying party's sealed results both store.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/secret_bytes.h"

namespace idvault::aes_gcm {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kIvBytes = 12;
inline constexpr std::size_t kTagBytes = 16;

// ciphertext || tag. key: 32 bytes, iv: 12 bytes (std::invalid_argument otherwise).
// Throws openssl::OpenSslError.
[[nodiscard]] std::vector<std::uint8_t> seal(const SecretBytes& key,
                                             std::span<const std::uint8_t> iv,
                                             std::span<const std::uint8_t> aad,
                                             std::span<const std::uint8_t> plaintext);
// The plaintext, or nothing when sealed (ciphertext || tag) is short, altered, or was
// sealed under another key, IV or additional data; OpenSSL's error queue is cleared.
[[nodiscard]] std::optional<SecretBytes> open(const SecretBytes& key,
                                              std::span<const std::uint8_t> iv,
                                              std::span<const std::uint8_t> aad,
                                              std::span<const std::uint8_t> sealed);

}  // namespace idvault::aes_gcm
