// Standard base64 (RFC 4648 §4: "+/" alphabet, "=" padding), the encoding Bot API JSON
// uses for every hash, secret and ciphertext.
//
// Decoding is strict: the length must be a multiple of 4, only the alphabet may appear,
// and "=" only as the last one or two characters. No whitespace, no URL-safe alphabet,
// so two different strings never decode to the same field silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"

namespace idvault {

[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);

// Upper bound of the decoded size of a string of this length (exact when unpadded).
[[nodiscard]] constexpr std::size_t base64_decoded_capacity(std::size_t text_size) noexcept {
  return text_size / 4 * 3;
}

// Decodes text into out (out.size() >= base64_decoded_capacity(text.size())) and returns
// the decoded bytes, a prefix of out. Throws FormatError(where, ...) for malformed text;
// out is then left unspecified.
[[nodiscard]] std::span<std::uint8_t> base64_decode_into(std::string_view text,
                                                         std::span<std::uint8_t> out,
                                                         std::string_view where);

// Allocating forms of the same.
[[nodiscard]] std::vector<std::uint8_t> base64_decode(std::string_view text,
                                                      std::string_view where);
[[nodiscard]] SecretBytes base64_decode_secret(std::string_view text, std::string_view where);

}  // namespace idvault
