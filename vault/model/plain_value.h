// The two plain (unencrypted) element values: phone_number and email. Telegram verifies
// them by code and sends them to the service as text in the element itself.
#pragma once

#include <string>
#include <string_view>

namespace idvault::vault {

// Telegram stores a phone number as its international digits without '+', e.g.
// "15551234567". We accept that, or the same with one leading '+', and return the digits.
// Rule: 5..15 ASCII digits (E.164 allows at most 15) not starting with 0 (no country code
// does). Deliberately loose at the short end: Telegram's test numbers and small
// countries' numbers are short, and verification by code is the real check.
// Throws FormatError("phone_number", ...).
[[nodiscard]] std::string normalize_phone_number(std::string_view text);

// A minimal sanity check, not RFC 5322: valid UTF-8, at most 254 bytes (the SMTP path
// limit), exactly one '@' with something on both sides, and no whitespace or control
// characters. Verification by code is the real check. Throws FormatError("email", ...).
void validate_email(std::string_view text);

}  // namespace idvault::vault
