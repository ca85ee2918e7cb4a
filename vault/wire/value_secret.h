// ValueSecret: the 32-byte secret that encrypts one Telegram Passport value (an element's
// data, a file, or the credentials themselves).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/secret_bytes.h"

namespace idvault::vault {

class ValueSecret {
 public:
  static constexpr std::size_t kSize = 32;

  // 32 random bytes whose sum is 239 mod 255, made exactly as TDLib does
  // (Secret::create_new), so our secrets are indistinguishable from a Telegram client's.
  [[nodiscard]] static ValueSecret generate();

  // Takes any 32 bytes. The 239 checksum is not required: it is what Telegram clients
  // make, but the Bot API never checks it and other encoders (python-cryptography based
  // generators, for one) use plain random secrets. Throws FormatError(where) on a size
  // other than 32.
  [[nodiscard]] static ValueSecret from_bytes(SecretBytes bytes, std::string_view where);

  [[nodiscard]] bool has_telegram_checksum() const noexcept;
  [[nodiscard]] std::span<const std::uint8_t> reveal() const { return bytes_.reveal(); }
  [[nodiscard]] ValueSecret clone() const { return ValueSecret(bytes_.clone()); }

 private:
  explicit ValueSecret(SecretBytes bytes) : bytes_(std::move(bytes)) {}
  SecretBytes bytes_;
};

// sum(bytes) % 255 == 239, Telegram's secret checksum (spec §1.1).
[[nodiscard]] bool has_telegram_checksum(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace idvault::vault
