// Test-side encryption of a padded value X chosen byte for byte, written independently of
// vault/value_cipher.cpp straight from spec §1.2, so tests can build inputs our encoder
// never would (padding byte below 32, beyond the value, ...) with a valid hash.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "common/openssl_owners.h"

namespace idvault::vault::testing {

struct CraftedValue {
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> hash;
};

inline CraftedValue craft_value(std::span<const std::uint8_t> padded,
                                std::span<const std::uint8_t> secret) {
  CraftedValue out;
  out.hash.resize(32);
  unsigned size = 0;
  if (EVP_Digest(padded.data(), padded.size(), out.hash.data(), &size, EVP_sha256(), nullptr) !=
      1) {
    throw std::runtime_error("EVP_Digest");
  }
  std::vector<std::uint8_t> seed(secret.begin(), secret.end());
  seed.insert(seed.end(), out.hash.begin(), out.hash.end());
  std::array<std::uint8_t, 64> kiv{};
  if (EVP_Digest(seed.data(), seed.size(), kiv.data(), &size, EVP_sha512(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest");
  }
  const auto ctx = openssl::make_cipher_ctx();
  out.ciphertext.resize(padded.size());
  int written = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, kiv.data(), kiv.data() + 32) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.ciphertext.data(), &written, padded.data(),
                        static_cast<int>(padded.size())) != 1) {
    throw std::runtime_error("AES-256-CBC");
  }
  return out;
}

}  // namespace idvault::vault::testing
