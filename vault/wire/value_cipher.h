// The Telegram Passport value encryption (spec §1.2), used for element data, files and
// the credentials alike:
//   X = P || V, P = random(L) with P[0] = L, 32 <= L <= 255, |X| % 16 == 0
//   hash = SHA-256(X);  key||iv = SHA-512(secret || hash)[0:48];  C = AES-256-CBC(X), no padding
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/openssl_owners.h"
#include "common/page_aligned.h"
#include "common/secret_bytes.h"
#include "vault/wire/value_secret.h"

namespace idvault::vault {

inline constexpr std::size_t kValueHashSize = 32;
inline constexpr std::size_t kMinPadding = 32;
inline constexpr std::size_t kMaxPadding = 255;

struct EncryptedValue {
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> hash;  // SHA-256 of the padded plaintext: data_hash / file_hash
};

// True when a padding of this length is one an encoder may use for this plaintext.
[[nodiscard]] bool is_valid_padding(std::size_t padding, std::size_t plaintext_size) noexcept;

// Uniform over every valid length (14 or 15 choices in 32..255), as Telegram's apps
// spread theirs; TDLib's own encoder uses only the smallest.
[[nodiscard]] std::size_t random_padding(std::size_t plaintext_size);

[[nodiscard]] EncryptedValue encrypt_value(std::span<const std::uint8_t> plaintext,
                                           const ValueSecret& secret);
// With a chosen padding length; throws std::invalid_argument if it is not valid.
[[nodiscard]] EncryptedValue encrypt_value(std::span<const std::uint8_t> plaintext,
                                           const ValueSecret& secret, std::size_t padding);
// The ciphertext into a page-aligned buffer (resized), which can go to disk with O_DIRECT
// as it is. Returns the hash.
[[nodiscard]] std::vector<std::uint8_t> encrypt_value_into(std::span<const std::uint8_t> plaintext,
                                                           const ValueSecret& secret,
                                                           PageAlignedBytes& ciphertext);

// Decrypts values, keeping its OpenSSL contexts across calls so a bundle of many files
// pays for them once. Not thread-safe: one per thread.
class ValueDecryptor {
 public:
  ValueDecryptor();

  // Decrypts into out (out.size() >= ciphertext.size(); out may be the ciphertext itself,
  // to decrypt in place) and returns the plaintext, a subspan of out. The hash is checked
  // (in constant time) before anything is returned. Every failure — empty or unaligned
  // ciphertext, hash of the wrong size, hash mismatch, padding byte below 32 or beyond the
  // value — throws DecryptError with the same message, and wipes out.
  // An empty value (padding == whole length) is accepted, as TDLib does.
  [[nodiscard]] std::span<const std::uint8_t> decrypt_into(std::span<const std::uint8_t> ciphertext,
                                                           std::span<const std::uint8_t> hash,
                                                           const ValueSecret& secret,
                                                           std::span<std::uint8_t> out);

  // Allocating form, for small values.
  [[nodiscard]] SecretBytes decrypt(std::span<const std::uint8_t> ciphertext,
                                    std::span<const std::uint8_t> hash, const ValueSecret& secret);

 private:
  openssl::CipherCtx aes_;
  openssl::DigestCtx sha256_;
  openssl::DigestCtx sha512_;
};

}  // namespace idvault::vault
