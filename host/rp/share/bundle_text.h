// Splits a share bundle's JSON text into its top-level members without running the
// general JSON parser over the file ciphertexts.
//
// Why: a bundle carries megabytes of base64 under "files", and nlohmann::json's lexer
// costs more per MB of string than decrypting the same bytes. The shared scanner
// (common/json_text_scanner.h, also what the agent uses for element.put) only finds
// where each value starts and ends; every member except the file strings is then parsed
// by nlohmann::json as usual, and the file strings are checked by the strict base64
// decoder. A file string with escapes (Android writes "\/") is unescaped through
// nlohmann::json, so no JSON is read by hand.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idvault::rp {

struct BundleText {
  std::string_view passport_data;  // the value's JSON text
  std::string_view receipt;        // empty when absent
  std::string_view attestations;   // empty when absent
  std::string_view account;        // the account proof; empty when absent
  // file_id -> base64 text; views into the input, or into `unescaped` for strings that
  // had escapes.
  std::vector<std::pair<std::string, std::string_view>> files;
  std::deque<std::string> unescaped;
  bool has_files = false;
};

// Throws vault::FormatError("bundle...", ...) for text that is not one JSON object, a
// member given twice, "files" that is not an object of strings, or trailing bytes.
// passport_data is empty when the object has no such member (a bare PassportData).
[[nodiscard]] BundleText split_bundle_text(std::string_view text);

}  // namespace idvault::rp
