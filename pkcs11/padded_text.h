// Cryptoki's fixed-width, blank-padded text fields (labels, serials, descriptions).
#pragma once

#include <cstddef>
#include <string>

namespace idvault::p11 {

[[nodiscard]] inline std::string padded_text(const unsigned char* field, std::size_t width) {
  std::size_t end = width;
  while (end > 0 && (field[end - 1] == ' ' || field[end - 1] == '\0')) --end;
  return std::string(reinterpret_cast<const char*>(field), end);
}

template <std::size_t N>
[[nodiscard]] std::string padded_text(const unsigned char (&field)[N]) {
  return padded_text(field, N);
}

}  // namespace idvault::p11
