// BER-TLV as PIV uses it (SP 800-73-4 Part 1 §3): tags of 1..3 bytes, definite lengths of
// up to 3 length bytes. Decoding is strict and bounded: any tag or length that would run
// past the buffer makes the whole decode fail rather than yield a partial view.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "firmware-sim/bytes.h"

namespace idvault::cardsim {

// A tag is kept as the integer its bytes spell big-endian: 0x5FC102 is "5F C1 02".
using TlvTag = std::uint32_t;

struct TlvView {
  TlvTag tag = 0;
  ByteView value;  // points into the decoded buffer
};

// Appends tag || length || value to out.
void append_tlv(Bytes& out, TlvTag tag, ByteView value);
[[nodiscard]] Bytes tlv(TlvTag tag, ByteView value);

// Decodes a sequence of TLVs that must fill `buffer` exactly. nullopt if malformed.
[[nodiscard]] std::optional<std::vector<TlvView>> decode_tlvs(ByteView buffer);

// The value of the first element with this tag, if any.
[[nodiscard]] std::optional<ByteView> find_tlv(const std::vector<TlvView>& tlvs, TlvTag tag);

// The bytes that encode a tag (1..4 bytes, big-endian, no leading zero bytes).
[[nodiscard]] Bytes tag_bytes(TlvTag tag);

}  // namespace idvault::cardsim
