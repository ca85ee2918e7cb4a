// Quoting of untrusted input for error messages: bounded, printable ASCII only, so a
// hostile link or JSON value cannot flood a log or smuggle control characters into it.
#pragma once

#include <string>
#include <string_view>

namespace idvault {

// "text" in double quotes; bytes outside printable ASCII become \xNN, and anything past
// the first 40 bytes is cut and marked with "...".
[[nodiscard]] std::string quote_untrusted(std::string_view text);

}  // namespace idvault
