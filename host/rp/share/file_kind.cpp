#include "host/rp/share/file_kind.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace idvault::rp {
namespace {

struct Kind {
  std::string_view magic;
  const char* content_type;
  const char* extension;
};

constexpr std::array<Kind, 5> kKinds{{
    {"\xff\xd8\xff", "image/jpeg", "jpg"},
    {"\x89PNG\r\n\x1a\n", "image/png", "png"},
    {"%PDF", "application/pdf", "pdf"},
    {"<svg", "image/svg+xml", "svg"},
    {"<?xml", "image/svg+xml", "svg"},
}};

const Kind* kind_of(std::span<const std::uint8_t> bytes) {
  for (const Kind& kind : kKinds) {
    if (bytes.size() >= kind.magic.size() &&
        std::equal(kind.magic.begin(), kind.magic.end(), bytes.begin(),
                   [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }))
      return &kind;
  }
  return nullptr;
}

}  // namespace

std::string content_type_of(std::span<const std::uint8_t> bytes) {
  const Kind* kind = kind_of(bytes);
  return kind ? kind->content_type : "application/octet-stream";
}

std::string file_extension_of(std::span<const std::uint8_t> bytes) {
  const Kind* kind = kind_of(bytes);
  return kind ? kind->extension : "bin";
}

}  // namespace idvault::rp
