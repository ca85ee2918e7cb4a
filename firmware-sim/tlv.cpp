#include "firmware-sim/tlv.h"

#include "firmware-sim/errors.h"

namespace idvault::cardsim {

Bytes tag_bytes(TlvTag tag) {
  Bytes out;
  bool started = false;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const auto b = static_cast<std::uint8_t>((tag >> shift) & 0xFF);
    if (b != 0 || started || shift == 0) {
      out.push_back(b);
      started = true;
    }
  }
  return out;
}

void append_tlv(Bytes& out, TlvTag tag, ByteView value) {
  append(out, tag_bytes(tag));
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xFF) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n & 0xFF));
  } else if (n <= 0xFFFFFF) {
    out.push_back(0x83);
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    out.push_back(static_cast<std::uint8_t>((n >> 8) & 0xFF));
    out.push_back(static_cast<std::uint8_t>(n & 0xFF));
  } else {
    throw CardsimError("TLV value too long to encode");
  }
  append(out, value);
}

Bytes tlv(TlvTag tag, ByteView value) {
  Bytes out;
  append_tlv(out, tag, value);
  return out;
}

std::optional<std::vector<TlvView>> decode_tlvs(ByteView buffer) {
  std::vector<TlvView> out;
  std::size_t i = 0;
  const std::size_t end = buffer.size();
  while (i < end) {
    TlvTag tag = buffer[i++];
    if ((tag & 0x1F) == 0x1F) {  // multi-byte tag: continuation bytes have bit 8 set
      int extra = 0;
      while (true) {
        if (i >= end || ++extra > 2) return std::nullopt;
        const std::uint8_t b = buffer[i++];
        tag = (tag << 8) | b;
        if ((b & 0x80) == 0) break;
      }
    }
    if (i >= end) return std::nullopt;
    std::size_t length = buffer[i++];
    if (length & 0x80) {
      const std::size_t count = length & 0x7F;
      if (count == 0 || count > 3 || count > end - i) return std::nullopt;  // 0x80 = indefinite
      length = 0;
      for (std::size_t k = 0; k < count; ++k) length = (length << 8) | buffer[i++];
    }
    if (length > end - i) return std::nullopt;
    out.push_back({tag, buffer.subspan(i, length)});
    i += length;
  }
  return out;
}

std::optional<ByteView> find_tlv(const std::vector<TlvView>& tlvs, TlvTag tag) {
  for (const auto& t : tlvs) {
    if (t.tag == tag) return t.value;
  }
  return std::nullopt;
}

}  // namespace idvault::cardsim
