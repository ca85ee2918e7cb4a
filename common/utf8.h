// UTF-8 checks the Passport model needs: Telegram limits names and document numbers
// in characters (code points), not bytes, and rejects text that is not UTF-8.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace idvault {

// Number of code points in text, or nullopt when text is not well-formed UTF-8
// (overlong forms, surrogates and values above U+10FFFF count as malformed).
[[nodiscard]] std::optional<std::size_t> utf8_length(std::string_view text) noexcept;

[[nodiscard]] inline bool is_valid_utf8(std::string_view text) noexcept {
  return utf8_length(text).has_value();
}

}  // namespace idvault
