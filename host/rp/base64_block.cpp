#include "host/rp/base64_block.h"

#include <array>
#include <stdexcept>
#include <string>

#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

constexpr std::uint8_t kBad = 0xff;

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kBad;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<std::uint8_t>(c - '0' + 52);
  table['+'] = 62;
  table['/'] = 63;
  return table;
}
constexpr std::array<std::uint8_t, 256> kTable = make_table();

[[noreturn]] void malformed(std::string_view where, const std::string& why) {
  throw vault::FormatError(std::string(where), why);
}

}  // namespace

std::span<std::uint8_t> decode_base64_block(std::string_view text, std::span<std::uint8_t> out,
                                            std::string_view where) {
  if (text.size() % 4 != 0) malformed(where, "base64 length is not a multiple of 4");
  if (out.size() < text.size() / 4 * 3)
    throw std::invalid_argument("decode_base64_block: output too small");
  if (text.empty()) return out.first(0);
  std::size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t full = text.size() / 4 - (padding ? 1 : 0);
  std::uint8_t* o = out.data();
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < full; ++i, in += 4, o += 3) {
    const std::uint8_t a = kTable[in[0]], b = kTable[in[1]], c = kTable[in[2]], d = kTable[in[3]];
    bad |= static_cast<std::uint8_t>(a | b | c | d);  // kBad has the top bit; valid values never do
    const std::uint32_t v =
        (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
  }
  if ((bad & 0x80) != 0) malformed(where, "invalid base64 character");
  if (padding != 0) {
    const std::uint8_t a = kTable[in[0]], b = kTable[in[1]];
    const std::uint8_t c = padding == 2 ? 0 : kTable[in[2]];
    if (((a | b | c) & 0x80) != 0 || (padding == 2 && in[2] != '='))
      malformed(where, "invalid base64 character");
    // RFC 4648 §3.5: the bits after the last byte are zero, or two texts decode alike.
    if ((padding == 2 ? b & 0x0f : c & 0x03) != 0)
      malformed(where, "base64 is not canonical (bits set after the last byte)");
    const std::uint32_t v =
        (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6);
    *o++ = static_cast<std::uint8_t>(v >> 16);
    if (padding == 1) *o++ = static_cast<std::uint8_t>(v >> 8);
  }
  return out.first(static_cast<std::size_t>(o - out.data()));
}

}  // namespace idvault::rp
