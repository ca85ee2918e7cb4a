#include "vault/wire/value_secret.h"

#include <openssl/rand.h>

#include <string>

#include "common/openssl_owners.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

unsigned sum_mod_255(std::span<const std::uint8_t> bytes) noexcept {
  unsigned sum = 0;
  for (const std::uint8_t b : bytes) sum += b;
  return sum % 255;
}

}  // namespace

bool has_telegram_checksum(std::span<const std::uint8_t> bytes) noexcept {
  return sum_mod_255(bytes) == 239;
}

ValueSecret ValueSecret::generate() {
  SecretBytes bytes(kSize);
  auto s = bytes.reveal_mutable();
  openssl::check(RAND_bytes(s.data(), static_cast<int>(s.size())), "RAND_bytes");
  // TDLib's rule, byte for byte: s[0] may wrap modulo 255 (never 256), which keeps the
  // sum's residue right whether or not it wraps.
  const unsigned d = (255 + 239 - sum_mod_255(s)) % 255;
  s[0] = static_cast<std::uint8_t>((s[0] + d) % 255);
  return ValueSecret(std::move(bytes));
}

ValueSecret ValueSecret::from_bytes(SecretBytes bytes, std::string_view where) {
  if (bytes.size() != kSize) {
    throw FormatError(std::string(where),
                      "a value secret must be 32 bytes, got " + std::to_string(bytes.size()));
  }
  return ValueSecret(std::move(bytes));
}

bool ValueSecret::has_telegram_checksum() const noexcept {
  return vault::has_telegram_checksum(bytes_.reveal());
}

}  // namespace idvault::vault
