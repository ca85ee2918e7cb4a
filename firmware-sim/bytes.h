// Byte strings as the card sees them, and the one way they are shown in logs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace idvault::cardsim {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Lower-case hex, no separators. Only ever called on data that is not secret.
[[nodiscard]] std::string to_hex(ByteView bytes);

// Parses hex (upper or lower case, no separators); throws CardsimError on bad input.
[[nodiscard]] Bytes from_hex(std::string_view hex);

inline void append(Bytes& out, ByteView more) {
  out.insert(out.end(), more.begin(), more.end());
}

}  // namespace idvault::cardsim
