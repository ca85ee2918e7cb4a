#include "common/json_text_scanner.h"

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

namespace idvault {
namespace {

bool is_delimiter(char c) {
  return c == ',' || c == '}' || c == ']' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
         c == '\r';
}

// A byte that ends the verbatim run of a string: a quote, a backslash, a control
// character, or a non-ASCII byte (which needs its UTF-8 checked).
bool is_special(unsigned char c) {
  return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// Whether any of the 8 bytes in word is special, eight at a time: base64 text has none,
// so a scan's string is crossed at word speed.
bool has_special(std::uint64_t word) {
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
  return (below_space | has_zero(word ^ (kOnes * '"')) | has_zero(word ^ (kOnes * '\\')) |
          (word & kHighs)) != 0;
}

}  // namespace

void JsonTextScanner::skip_space() noexcept {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                 text_[pos_] == '\r')) {
    ++pos_;
  }
}

void JsonTextScanner::expect(char c) {
  skip_space();
  if (peek() != c) {
    throw JsonTextError(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
  }
  ++pos_;
}

JsonStringToken JsonTextScanner::string_token() {
  skip_space();
  if (peek() != '"') throw JsonTextError("expected a string at offset " + std::to_string(pos_));
  const std::size_t start = pos_++;
  bool verbatim = true;
  while (pos_ < text_.size()) {
    if (text_.size() - pos_ >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text_.data() + pos_, sizeof word);
      if (!has_special(word)) {
        pos_ += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (!is_special(c)) {
      ++pos_;
      continue;
    }
    if (c == '"') {
      ++pos_;
      return {text_.substr(start, pos_ - start), verbatim};
    }
    if (c < 0x20) {
      throw JsonTextError("control character in a string at offset " + std::to_string(pos_));
    }
    verbatim = false;
    pos_ += c == '\\' ? 2 : 1;  // an escaped quote does not end the string
  }
  throw JsonTextError("unterminated string starting at offset " + std::to_string(start));
}

std::string_view JsonTextScanner::value_token() {
  skip_space();
  const std::size_t start = pos_;
  const char first = peek();
  if (first == '"') return string_token().text;
  if (first == '{' || first == '[') {
    int depth = 0;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '"') {
        (void)string_token();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++pos_;
      if (depth == 0) return text_.substr(start, pos_ - start);
    }
    throw JsonTextError("unterminated value starting at offset " + std::to_string(start));
  }
  while (!at_end() && !is_delimiter(text_[pos_])) ++pos_;
  if (pos_ == start) throw JsonTextError("missing value at offset " + std::to_string(pos_));
  return text_.substr(start, pos_ - start);
}

std::string unescape_json_string(std::string_view token) {
  auto json = nlohmann::json::parse(token, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_string()) throw JsonTextError("malformed string");
  return std::move(json.get_ref<std::string&>());
}

}  // namespace idvault
