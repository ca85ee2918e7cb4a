// The checks a request head's raw bytes pass before an HTTP parser sees them.
//
// Beast's parser, like most, is lenient where a proxy in front may read the same bytes
// differently, and a disagreement about where a request ends is request smuggling. So
// the head is refused (400) when it holds anything two parsers could frame differently:
// a CR or LF that is not part of a CRLF, NUL or another control character, an obsolete
// folded line, a header name with space before its colon, Content-Length together with
// Transfer-Encoding, either of them twice (even with the same value) or empty, a
// Content-Length that is not plain digits or does not fit in 64 bits. The request line
// must be METHOD SP /TARGET SP HTTP/1.x (505 for another version).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace idvault::http {

struct HeadRefusal {
  int status;
  std::string message;
};

// What the framing headers say, once the head passed.
struct HeadFraming {
  std::optional<std::uint64_t> content_length;
  bool transfer_encoding = false;
};

// head: the bytes before the blank line ending it (without that CRLF CRLF). Returns the
// refusal, or std::nullopt and fills framing.
[[nodiscard]] std::optional<HeadRefusal> check_raw_head(std::string_view head,
                                                        HeadFraming& framing);

}  // namespace idvault::http
