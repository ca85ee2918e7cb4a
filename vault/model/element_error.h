// PassportElementError: what a service sends back to make the holder fix an element
// (Bot API setPassportDataErrors, spec §7). The nine kinds differ in their `source`, the
// hash fields they carry and the element types they may name.
//
// JSON is read as the Bot API reads it: a missing or empty source means "unspecified",
// an unknown source is "wrong source specified", unknown keys are ignored, and every
// hash must be the standard base64 of 32 bytes. JSON is written in the Bot API's shape
// and key order (source, type, the hash field(s) and field_name, message).
//
// field_name of a data error: on read (Strictness::peer_input) any non-empty name is
// kept, as TDLib keeps the error and only loses the field highlight for a name it does
// not know; on write (Strictness::own_output, to_json) it must be one of the type's data
// fields (data_field_names in vault/element_data.h), so a service's typo is caught
// before the holder sees an error that points nowhere.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/model/element_data.h"
#include "vault/model/element_type.h"

namespace idvault::vault {

enum class ErrorSource {
  data,               // field_name + data_hash
  front_side,         // file_hash
  reverse_side,       // file_hash
  selfie,             // file_hash
  file,               // file_hash
  files,              // file_hashes, one or more
  translation_file,   // file_hash
  translation_files,  // file_hashes, one or more
  unspecified,        // element_hash (EncryptedPassportElement.hash, echoed back)
};

struct PassportElementError {
  ErrorSource source = ErrorSource::unspecified;
  ElementType type = ElementType::personal_details;
  std::string message;
  std::string field_name;     // data errors only
  std::vector<Bytes> hashes;  // exactly one, except files/translation_files (one or more)
  friend bool operator==(const PassportElementError&, const PassportElementError&) = default;
};

[[nodiscard]] std::string_view to_string(ErrorSource source) noexcept;
[[nodiscard]] std::optional<ErrorSource> parse_error_source(std::string_view name) noexcept;

// The Bot API's table: which element types an error of this source may name.
[[nodiscard]] bool source_allows(ErrorSource source, ElementType type) noexcept;

// The JSON key of the source's hash: "data_hash", "file_hash", "file_hashes" or
// "element_hash".
[[nodiscard]] std::string_view hash_key(ErrorSource source) noexcept;

// Throws FormatError(where + ".<key>", ...) for the first rule the error breaks.
void validate_element_error(const PassportElementError& error, Strictness strictness,
                            const std::string& where = "error");

[[nodiscard]] PassportElementError parse_element_error(const nlohmann::json& json,
                                                       const std::string& where = "error");
// A JSON array of errors (what setPassportDataErrors takes); positions are "errors[i]".
[[nodiscard]] std::vector<PassportElementError> parse_element_errors(const nlohmann::json& json);
// The same from JSON text; text that is not JSON is a FormatError("errors", ...).
[[nodiscard]] std::vector<PassportElementError> parse_element_errors(std::string_view json_text);

// Validates with Strictness::own_output first.
[[nodiscard]] nlohmann::ordered_json to_json(const PassportElementError& error);
[[nodiscard]] nlohmann::ordered_json to_json(std::span<const PassportElementError> errors);

}  // namespace idvault::vault
