#include "host/rpc/json_line_parser.h"

#include <string.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/json_fields.h"
#include "common/json_text_scanner.h"

namespace idvault::rpc {
namespace {

// A placeholder is a string starting with U+0000 followed by the index of the value it
// stands for. JSON can only spell U+0000 as the escape \u0000, so a text whose kept
// strings contain no such escape cannot forge one.
constexpr std::string_view kForgeable = "\\u0000";

// One long value cut out of the text: a view of it when it needed no decoding, else its
// decoded text.
struct LongValue {
  std::string_view verbatim;
  std::optional<std::string> decoded;
};

struct SplitText {
  std::string rest;
  std::vector<LongValue> values;
};

enum class Split { done, not_applicable, malformed };

Split split_long_strings(std::string_view text, SplitText& out) {
  JsonTextScanner scanner(text);
  std::size_t copied = 0;  // text[0, copied) is already in out.rest
  for (;;) {
    const std::size_t from = scanner.offset();
    const void* quote = std::memchr(text.data() + from, '"', text.size() - from);
    if (quote == nullptr) break;
    scanner.seek(static_cast<std::size_t>(static_cast<const char*>(quote) - text.data()));
    const std::size_t start = scanner.offset();
    JsonStringToken token;
    try {
      token = scanner.string_token();
    } catch (const JsonTextError&) {
      return Split::malformed;  // unterminated or a raw control character: no lexer takes it
    }
    const std::size_t end = scanner.offset();
    scanner.skip_space();
    const bool is_key = scanner.peek() == ':';
    scanner.seek(end);
    if (is_key || token.text.size() < kLongJsonString) {
      if (token.text.find(kForgeable) != std::string_view::npos) return Split::not_applicable;
      continue;
    }
    LongValue value;
    if (token.verbatim) {
      value.verbatim = token.content();
    } else {
      try {
        value.decoded = unescape_json_string(token.text);
      } catch (const JsonTextError&) {
        return Split::malformed;
      }
    }
    if (out.rest.empty()) out.rest.reserve(1024);
    out.rest.append(text.substr(copied, start - copied));
    out.rest.append("\"\\u0000").append(std::to_string(out.values.size())).append("\"");
    copied = end;
    out.values.push_back(std::move(value));
  }
  if (out.values.empty()) return Split::not_applicable;
  out.rest.append(text.substr(copied));
  return Split::done;
}

// nlohmann::json's lexer takes a raw U+0000 byte for the end of the input, so on its own
// it accepts `{...}<NUL>anything` and never looks at what follows. JSON allows no raw NUL
// anywhere (RFC 8259), and bytes in a frame that nobody parsed have no business there,
// so such a text is refused — whether or not it has long strings (the fuzzer found the
// two paths disagreeing on it).
bool has_raw_nul(std::string_view text) noexcept {
  return std::memchr(text.data(), '\0', text.size()) != nullptr;
}

nlohmann::json discarded() {
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace

nlohmann::json parse_json_line(std::string_view text) {
  SplitText split;
  switch (split_long_strings(text, split)) {
    case Split::malformed:
      return discarded();
    case Split::not_applicable:
      if (has_raw_nul(text) || json_fields::nests_too_deep(text)) return discarded();
      return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    case Split::done:
      // Every string was scanned (a raw NUL in one is malformed); the rest is what is left.
      // It nests exactly as text does, so its depth is checked instead of 21 MiB of scans.
      if (has_raw_nul(split.rest) || json_fields::nests_too_deep(split.rest)) {
        ::explicit_bzero(split.rest.data(), split.rest.size());
        return discarded();
      }
      break;
  }
  // The rest has the same tokens as text, long strings swapped for short ones, so it is
  // valid JSON exactly when text is; each long value goes back where its placeholder is.
  const auto put_back = [&split](int /*depth*/, nlohmann::json::parse_event_t event,
                                 nlohmann::json& parsed) {
    if (event != nlohmann::json::parse_event_t::value || !parsed.is_string()) return true;
    const std::string& placeholder = parsed.get_ref<const std::string&>();
    if (placeholder.empty() || placeholder[0] != '\0') return true;
    std::size_t index = 0;
    std::from_chars(placeholder.data() + 1, placeholder.data() + placeholder.size(), index);
    LongValue& value = split.values.at(index);
    parsed = value.decoded ? std::move(*value.decoded) : std::string(value.verbatim);
    return true;
  };
  nlohmann::json parsed = nlohmann::json::parse(split.rest, put_back, /*allow_exceptions=*/false);
  // The rest may hold a short secret of the same request (a PIN beside the scans).
  ::explicit_bzero(split.rest.data(), split.rest.size());
  return parsed;
}

}  // namespace idvault::rpc
