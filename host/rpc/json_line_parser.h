// Parses one JSON text the way nlohmann::json::parse(text, nullptr, false) does — same
// tree, same verdict on malformed text — without running its lexer over long strings.
//
// Why: element.put carries scans as base64 strings, ~21 MiB in one line for 16 MiB of
// scans, and nlohmann::json's lexer appends a string one character at a time (135-200
// ms for that line, more than all the crypto of the put). Here the shared scanner
// (common/json_text_scanner.h) cuts every string value of at least kLongJsonString bytes out of
// the text, nlohmann::json parses the small rest, and the long values are put back into
// the tree as they are. A long string with escapes or non-ASCII characters is decoded
// and checked by nlohmann::json on its own; a rest that would need a string the scanner
// cannot tell from its placeholders falls back to parsing the whole text.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

namespace idvault::rpc {

inline constexpr std::size_t kLongJsonString = 1024;

// The parsed value, or a discarded value (is_discarded()) when text is not valid JSON or
// nests deeper than json_fields::kMaxDepth.
// One deliberate difference from nlohmann::json::parse: a raw NUL byte anywhere makes the
// text invalid, where nlohmann stops reading at it and accepts what came before.
[[nodiscard]] nlohmann::json parse_json_line(std::string_view text);

}  // namespace idvault::rpc
