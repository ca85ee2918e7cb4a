#include "common/utf8.h"

#include <openssl/asn1.h>

#include <climits>

namespace idvault {

std::optional<std::size_t> utf8_length(std::string_view text) noexcept {
  // OpenSSL's decoder already rejects overlong forms, surrogates and code points above
  // U+10FFFF, which is exactly the well-formedness TDLib's check_utf8 asks for.
  std::size_t count = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t left = text.size();
  while (left > 0) {
    const int chunk = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    unsigned long code_point = 0;
    const int used = UTF8_getc(p, chunk, &code_point);
    if (used <= 0) return std::nullopt;
    p += used;
    left -= static_cast<std::size_t>(used);
    ++count;
  }
  return count;
}

}  // namespace idvault
