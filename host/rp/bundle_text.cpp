#include "host/rp/bundle_text.h"

#include <nlohmann/json.hpp>

#include "vault/errors.h"

namespace idvault::rp {
namespace {

using vault::FormatError;

bool is_delimiter(char c) {
  return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void expect(char c, const std::string& where) {
    skip_space();
    if (peek() != c)
      throw FormatError(where,
                        std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }

  // A string token, quotes included; has_escape tells whether it needs unescaping.
  std::string_view string_token(const std::string& where, bool& has_escape) {
    skip_space();
    if (peek() != '"')
      throw FormatError(where, "expected a string at offset " + std::to_string(pos_));
    const std::size_t start = pos_++;
    has_escape = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return text_.substr(start, pos_ - start);
      }
      if (c == '\\') {
        has_escape = true;
        pos_ += 2;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        throw FormatError(where, "control character in a string");
      ++pos_;
    }
    throw FormatError(where, "unterminated string");
  }

  // Any JSON value's text, found by nesting alone; its grammar is checked by whoever
  // parses it.
  std::string_view value_token(const std::string& where) {
    skip_space();
    const std::size_t start = pos_;
    bool escape = false;
    const char first = peek();
    if (first == '"') return string_token(where, escape);
    if (first == '{' || first == '[') {
      int depth = 0;
      while (!at_end()) {
        const char c = text_[pos_];
        if (c == '"') {
          (void)string_token(where, escape);
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++pos_;
        if (depth == 0) return text_.substr(start, pos_ - start);
      }
      throw FormatError(where, "unterminated value");
    }
    while (!at_end() && !is_delimiter(text_[pos_])) ++pos_;
    if (pos_ == start) throw FormatError(where, "missing value at offset " + std::to_string(pos_));
    return text_.substr(start, pos_ - start);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string unescape(std::string_view token, const std::string& where) {
  auto json = nlohmann::json::parse(token, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_string()) throw FormatError(where, "malformed string");
  return json.get<std::string>();
}

std::string key_text(std::string_view token, bool has_escape, const std::string& where) {
  return has_escape ? unescape(token, where) : std::string(token.substr(1, token.size() - 2));
}

void read_files(Scanner& scanner, BundleText& out) {
  const std::string where = "bundle.files";
  scanner.expect('{', where);
  scanner.skip_space();
  if (scanner.peek() == '}') {
    scanner.expect('}', where);
    return;
  }
  while (true) {
    bool escaped = false;
    // The token first: an argument list would not promise that escaped is set before it is read.
    const std::string_view id_token = scanner.string_token(where, escaped);
    std::string id = key_text(id_token, escaped, where);
    const std::string member = where + "." + (id.size() > 64 ? id.substr(0, 64) + "..." : id);
    scanner.expect(':', member);
    scanner.skip_space();
    if (scanner.peek() != '"') throw FormatError(member, "must be a base64 string");
    std::string_view value = scanner.string_token(member, escaped);
    if (escaped) {
      value = out.unescaped.emplace_back(unescape(value, member));
    } else {
      value = value.substr(1, value.size() - 2);
    }
    for (const auto& [seen, unused] : out.files) {
      if (seen == id) throw FormatError(member, "given twice");
    }
    out.files.emplace_back(std::move(id), value);
    scanner.skip_space();
    if (scanner.peek() == ',') {
      scanner.expect(',', where);
      continue;
    }
    scanner.expect('}', where);
    return;
  }
}

}  // namespace

BundleText split_bundle_text(std::string_view text) {
  BundleText out;
  Scanner scanner(text);
  const std::string where = "bundle";
  scanner.expect('{', where);
  bool seen_passport_data = false;
  bool seen_receipt = false;
  bool seen_attestations = false;
  scanner.skip_space();
  if (scanner.peek() == '}') {
    scanner.expect('}', where);
  } else {
    while (true) {
      bool escaped = false;
      const std::string_view key_token = scanner.string_token(where, escaped);
      const std::string key = key_text(key_token, escaped, where);
      scanner.expect(':', where + "." + key);
      const auto once = [&](bool& seen) {
        if (seen) throw FormatError(where + "." + key, "given twice");
        seen = true;
      };
      if (key == "files") {
        once(out.has_files);
        read_files(scanner, out);
      } else {
        std::string_view value = scanner.value_token(where + "." + key);
        if (key == "passport_data") {
          once(seen_passport_data);
          out.passport_data = value;
        } else if (key == "receipt") {
          once(seen_receipt);
          out.receipt = value;
        } else if (key == "attestations") {
          once(seen_attestations);
          out.attestations = value;
        }
      }
      scanner.skip_space();
      if (scanner.peek() == ',') {
        scanner.expect(',', where);
        continue;
      }
      scanner.expect('}', where);
      break;
    }
  }
  scanner.skip_space();
  if (!scanner.at_end()) throw FormatError(where, "trailing bytes after the JSON object");
  return out;
}

}  // namespace idvault::rp
