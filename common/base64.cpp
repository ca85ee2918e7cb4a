#include "common/base64.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "common/format_error.h"

namespace idvault {
namespace {

constexpr std::uint8_t kNotBase64 = 0xff;

// Each character's 6-bit value, kNotBase64 outside the alphabet.
constexpr std::array<std::uint8_t, 256> make_alphabet() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kNotBase64;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<std::uint8_t>(c - '0' + 52);
  table['+'] = 62;
  table['/'] = 63;
  return table;
}
constexpr std::array<std::uint8_t, 256> kAlphabet = make_alphabet();

// Returns the number of '=' at the end, after checking the whole text. EVP_DecodeBlock
// alone would skip surrounding whitespace and accept '=' in the middle.
std::size_t validate(std::string_view text, std::string_view where) {
  if (text.size() % 4 != 0) {
    throw FormatError(std::string(where), "base64 length is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t body = text.size() - padding;
  for (std::size_t i = 0; i < body; ++i) {
    if (kAlphabet[static_cast<unsigned char>(text[i])] == kNotBase64) {
      throw FormatError(std::string(where),
                        "invalid base64 character at offset " + std::to_string(i));
    }
  }
  // The last character before "=" carries 2 (one "=") or 4 (two) bits that no byte
  // uses; RFC 4648 §3.5 makes them zero, else "Zh==" and "Zg==" would both be "f".
  if (padding != 0) {
    const std::uint8_t unused_bits = padding == 1 ? 0x03 : 0x0f;
    if ((kAlphabet[static_cast<unsigned char>(text[body - 1])] & unused_bits) != 0) {
      throw FormatError(std::string(where),
                        "base64 is not canonical (bits set after the last byte)");
    }
  }
  return padding;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string text((bytes.size() + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock adds a NUL
  if (!bytes.empty()) {
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                        bytes.data(), static_cast<int>(bytes.size()));
    text.resize(static_cast<std::size_t>(written));
  } else {
    text.clear();
  }
  return text;
}

std::span<std::uint8_t> base64_decode_into(std::string_view text, std::span<std::uint8_t> out,
                                           std::string_view where) {
  if (out.size() < base64_decoded_capacity(text.size())) {
    throw std::invalid_argument("base64_decode_into: output buffer too small");
  }
  const std::size_t padding = validate(text, where);
  if (text.empty()) return out.first(0);
  const int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) throw FormatError(std::string(where), "malformed base64");
  // EVP_DecodeBlock counts the zero bytes that stand for padding; they are not data.
  return out.first(static_cast<std::size_t>(written) - padding);
}

std::vector<std::uint8_t> base64_decode(std::string_view text, std::string_view where) {
  std::vector<std::uint8_t> out(base64_decoded_capacity(text.size()));
  out.resize(base64_decode_into(text, out, where).size());
  return out;
}

SecretBytes base64_decode_secret(std::string_view text, std::string_view where) {
  SecretBytes out(base64_decoded_capacity(text.size()));
  out.resize(base64_decode_into(text, out.reveal_mutable(), where).size());
  return out;
}

}  // namespace idvault
