// Reading Telegram Passport JSON field by field. Every failure is a FormatError whose
// `where` is the dotted path of the field ("credentials.secure_data.passport.data.secret"),
// so a person can find the bad field without seeing its value. Unknown fields are ignored:
// Telegram adds fields over time and an old reader must not reject a new payload.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace idvault::json_fields {

using Json = nlohmann::json;

// parent.key; a key that is not a plain name (letters, digits, '_', '-', at most 64) is
// the sender's choice and goes in through quote_untrusted, bounded and escaped.
[[nodiscard]] std::string path(std::string_view parent, std::string_view key);
[[nodiscard]] std::string path(std::string_view parent, std::size_t index);

void expect_object(const Json& value, std::string_view where);

// nullptr when the key is absent (or the value is null).
[[nodiscard]] const Json* find(const Json& object, std::string_view key);

[[nodiscard]] const std::string& require_string(const Json& object, std::string_view key,
                                                std::string_view where);
[[nodiscard]] std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                                         std::string_view where);
[[nodiscard]] std::int64_t require_integer(const Json& object, std::string_view key,
                                           std::string_view where);
[[nodiscard]] std::optional<std::int64_t> optional_integer(const Json& object, std::string_view key,
                                                           std::string_view where);
[[nodiscard]] const Json& require_object(const Json& object, std::string_view key,
                                         std::string_view where);
[[nodiscard]] const Json* optional_object(const Json& object, std::string_view key,
                                          std::string_view where);
[[nodiscard]] const Json* optional_array(const Json& object, std::string_view key,
                                         std::string_view where);

// Most levels of arrays and objects a JSON text from outside may nest. nlohmann::json
// parses iteratively but copies, compares and dumps a tree recursively: a 400 KB text of
// 200,000 '[' overflowed the stack the first time its tree was copied. Telegram Passport
// and JSON-RPC messages nest fewer than ten levels.
inline constexpr std::size_t kMaxDepth = 64;

// Whether text opens more than kMaxDepth arrays or objects inside one another. A scan of
// the text alone, as cheap as memchr over long strings, made before any parse: it needs
// no valid JSON (a parser refuses what it gets wrong on malformed text anyway).
[[nodiscard]] bool nests_too_deep(std::string_view text) noexcept;

// Parses UTF-8 JSON text from outside: a FormatError for text that is not JSON or nests
// deeper than kMaxDepth. The error message never quotes the input (it may be a decrypted
// document).
[[nodiscard]] Json parse(std::string_view text, std::string_view where);
[[nodiscard]] nlohmann::ordered_json parse_ordered(std::string_view text, std::string_view where);

// Overwrites every string in the tree in place, for JSON that carried secrets (scans, a
// PIN, decrypted documents) before it is freed. Iterative: any depth is safe.
void wipe_strings(Json& value) noexcept;
void wipe_strings(nlohmann::ordered_json& value) noexcept;

}  // namespace idvault::json_fields
