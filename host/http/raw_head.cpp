#include "host/http/raw_head.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace idvault::http {
namespace {

// A field value or request target may hold visible characters, spaces, tabs and bytes
// above 0x7F, nothing else: a CR or LF inside would end the line for another parser, and
// a NUL ends the string for a C one.
bool is_field_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<HeadRefusal> check_request_line(std::string_view line) {
  if (!std::all_of(line.begin(), line.end(), is_field_char))
    return HeadRefusal{400, "control character in the request line"};
  const auto first_space = line.find(' ');
  const auto second_space =
      first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos || line.find(' ', second_space + 1) != line.npos)
    return HeadRefusal{400, "malformed request line"};
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char))
    return HeadRefusal{400, "malformed method"};
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return HeadRefusal{505, "only HTTP/1.0 and HTTP/1.1 are spoken here"};
  if (target.empty() || target.front() != '/')
    return HeadRefusal{400, "the target must be an absolute path"};
  if (target.find('\t') != std::string_view::npos)
    return HeadRefusal{400, "control character in the request line"};
  return std::nullopt;
}

}  // namespace

std::optional<HeadRefusal> check_raw_head(std::string_view head, HeadFraming& framing) {
  framing = {};
  const auto line_end = head.find("\r\n");
  if (auto refusal = check_request_line(head.substr(0, line_end))) return refusal;
  std::size_t content_lengths = 0;
  std::size_t transfer_encodings = 0;
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      return HeadRefusal{400, "obsolete line folding"};
    // What is left of a CR or LF after splitting at CRLF is a bare one.
    if (!std::all_of(line.begin(), line.end(), is_field_char))
      return HeadRefusal{400, "control character (a bare CR or LF?) in a header line"};
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), is_token_char))
      return HeadRefusal{400, "malformed header line"};
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "transfer-encoding")) {
      if (++transfer_encodings > 1) return HeadRefusal{400, "Transfer-Encoding given twice"};
      if (value.empty()) return HeadRefusal{400, "Transfer-Encoding is empty"};
      framing.transfer_encoding = true;
    } else if (iequals(name, "content-length")) {
      if (++content_lengths > 1) return HeadRefusal{400, "Content-Length given twice"};
      if (value.empty()) return HeadRefusal{400, "Content-Length is empty"};
      if (!std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return HeadRefusal{400, "malformed Content-Length"};
      std::uint64_t length = 0;
      const auto [end_of_number, ec] =
          std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec != std::errc() || end_of_number != value.data() + value.size())
        return HeadRefusal{400, "Content-Length out of range"};
      framing.content_length = length;
    }
  }
  // Which of the two says where the body ends depends on the parser: refuse both.
  if (framing.content_length && framing.transfer_encoding)
    return HeadRefusal{400, "Content-Length together with Transfer-Encoding"};
  return std::nullopt;
}

}  // namespace idvault::http
