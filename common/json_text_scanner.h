// Finds where JSON values start and end in a text without building them, so code that
// carries megabytes of base64 in JSON strings (the agent's element.put, a share bundle)
// can hand only the small rest to nlohmann::json.
//
// Why: nlohmann::json's lexer appends a string one character at a time, ~7 ms per MB on
// these machines; scanning a string here costs a few hundred microseconds per MB. The
// scanner knows strings, escapes and nesting, nothing else: it does not check the grammar
// of what it skips, and it never decodes an escape itself — strings that need decoding
// go through nlohmann::json (unescape_json_string), so no JSON is read by hand.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace idvault {

// What the scanner found wrong, with the offset in the text.
class JsonTextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JsonStringToken {
  std::string_view text;  // quotes included
  // True when the characters between the quotes are the string's value as is: printable
  // ASCII, no escape. Otherwise the value must come from unescape_json_string(text),
  // which also checks escapes and UTF-8.
  bool verbatim = true;
  [[nodiscard]] std::string_view content() const { return text.substr(1, text.size() - 2); }
};

class JsonTextScanner {
 public:
  explicit JsonTextScanner(std::string_view text) : text_(text) {}

  void skip_space() noexcept;
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  [[nodiscard]] std::size_t offset() const noexcept { return pos_; }
  void seek(std::size_t offset) noexcept { pos_ = offset < text_.size() ? offset : text_.size(); }

  // Skips space, then consumes c; throws JsonTextError if something else is there.
  void expect(char c);
  // Skips space; the string starting there (throws JsonTextError for no string, an
  // unterminated one, or a raw control character in it).
  [[nodiscard]] JsonStringToken string_token();
  // Skips space; any value's text, found by nesting alone.
  [[nodiscard]] std::string_view value_token();

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// The value of a string token (quotes included), decoded and checked by nlohmann::json.
// Throws JsonTextError for a malformed string (bad escape, invalid UTF-8).
[[nodiscard]] std::string unescape_json_string(std::string_view token);

}  // namespace idvault
