#include "vault/model/plain_value.h"

#include <algorithm>

#include "common/utf8.h"
#include "vault/model/errors.h"

namespace idvault::vault {

std::string normalize_phone_number(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  const bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!all_digits) {
    throw FormatError("phone_number",
                      "must be the international number as digits, e.g. 15551234567");
  }
  if (digits.size() < 5 || digits.size() > 15) {
    throw FormatError("phone_number", "must have 5 to 15 digits including the country code");
  }
  if (digits.front() == '0') {
    throw FormatError("phone_number",
                      "must start with the country code, which never starts with 0");
  }
  return std::string(digits);
}

void validate_email(std::string_view text) {
  if (text.size() > 254) throw FormatError("email", "is longer than 254 bytes");
  if (!is_valid_utf8(text)) throw FormatError("email", "is not valid UTF-8");
  const bool has_blank = std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
  if (has_blank) throw FormatError("email", "must not contain spaces or control characters");
  const auto at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos) {
    throw FormatError("email", "must contain exactly one '@'");
  }
  if (at == 0 || at + 1 == text.size()) {
    throw FormatError("email", "needs a name before and a domain after the '@'");
  }
}

}  // namespace idvault::vault
