#include "host/rp/share/bundle_text.h"

#include "common/json_fields.h"
#include "common/json_text_scanner.h"
#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

using vault::FormatError;

// The shared scanner (common/json_text_scanner.h), with its errors named after the
// bundle member being read.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : scanner_(text) {}

  void skip_space() { scanner_.skip_space(); }
  [[nodiscard]] bool at_end() const { return scanner_.at_end(); }
  [[nodiscard]] char peek() const { return scanner_.peek(); }
  void expect(char c, const std::string& where) {
    guarded(where, [&] { scanner_.expect(c); });
  }
  JsonStringToken string_token(const std::string& where) {
    JsonStringToken token;
    guarded(where, [&] { token = scanner_.string_token(); });
    return token;
  }
  std::string_view value_token(const std::string& where) {
    std::string_view token;
    guarded(where, [&] { token = scanner_.value_token(); });
    return token;
  }

 private:
  template <typename Step>
  static void guarded(const std::string& where, Step step) {
    try {
      step();
    } catch (const JsonTextError& error) {
      throw FormatError(where, error.what());
    }
  }

  JsonTextScanner scanner_;
};

std::string unescape(std::string_view token, const std::string& where) {
  try {
    return unescape_json_string(token);
  } catch (const JsonTextError&) {
    throw FormatError(where, "malformed string");
  }
}

std::string key_text(const JsonStringToken& token, const std::string& where) {
  return token.verbatim ? std::string(token.content()) : unescape(token.text, where);
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
    std::string id = key_text(scanner.string_token(where), where);
    const std::string member = json_fields::path(where, id);
    scanner.expect(':', member);
    scanner.skip_space();
    if (scanner.peek() != '"') throw FormatError(member, "must be a base64 string");
    const JsonStringToken token = scanner.string_token(member);
    const std::string_view value =
        token.verbatim ? token.content() : out.unescaped.emplace_back(unescape(token.text, member));
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
  bool seen_account = false;
  scanner.skip_space();
  if (scanner.peek() == '}') {
    scanner.expect('}', where);
  } else {
    while (true) {
      const std::string key = key_text(scanner.string_token(where), where);
      const std::string member = json_fields::path(where, key);
      scanner.expect(':', member);
      const auto once = [&](bool& seen) {
        if (seen) throw FormatError(member, "given twice");
        seen = true;
      };
      if (key == "files") {
        once(out.has_files);
        read_files(scanner, out);
      } else {
        std::string_view value = scanner.value_token(member);
        if (key == "passport_data") {
          once(seen_passport_data);
          out.passport_data = value;
        } else if (key == "receipt") {
          once(seen_receipt);
          out.receipt = value;
        } else if (key == "attestations") {
          once(seen_attestations);
          out.attestations = value;
        } else if (key == "account") {
          once(seen_account);
          out.account = value;
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
