#include "vault/model/element_error.h"

#include <algorithm>
#include <array>

#include "common/base64.h"
#include "common/json_fields.h"
#include "common/quoted_text.h"
#include "common/utf8.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr std::size_t kHashSize = 32;

constexpr std::array<std::string_view, 9> kSourceNames = {
    "data",  "front_side",       "reverse_side",      "selfie",      "file",
    "files", "translation_file", "translation_files", "unspecified",
};

bool is_data_type(ElementType type) noexcept {
  return type == ElementType::personal_details || type == ElementType::address ||
         is_identity_document(type);
}

bool takes_many_hashes(ErrorSource source) noexcept {
  return source == ErrorSource::files || source == ErrorSource::translation_files;
}

std::string allowed_types_of(ErrorSource source) {
  std::string list;
  for (const auto type : kAllElementTypes) {
    if (!source_allows(source, type)) continue;
    if (!list.empty()) list += ", ";
    list += to_string(type);
  }
  return list;
}

std::string field_of(const std::string& where, std::string_view key) {
  return where + "." + std::string(key);
}

const nlohmann::json* find_key(const nlohmann::json& json, std::string_view key) {
  const auto found = json.find(std::string(key));
  return found == json.end() ? nullptr : &*found;
}

std::string read_string(const nlohmann::json& json, std::string_view key,
                        const std::string& where) {
  const auto* value = find_key(json, key);
  if (value == nullptr) throw FormatError(field_of(where, key), "is missing");
  if (!value->is_string()) throw FormatError(field_of(where, key), "must be a string");
  return value->get<std::string>();
}

Bytes read_hash(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) throw FormatError(where, "must be a base64 string");
  Bytes hash = base64_decode(value.get<std::string>(), where);
  if (hash.size() != kHashSize) {
    throw FormatError(where, "must be the base64 of a 32-byte hash, not of " +
                                 std::to_string(hash.size()) + " bytes");
  }
  return hash;
}

void check_source_allows(ErrorSource source, ElementType type, const std::string& where) {
  if (!source_allows(source, type)) {
    throw FormatError(field_of(where, "type"),
                      "a " + std::string(to_string(source)) + " error cannot be about " +
                          std::string(to_string(type)) + " (it can be about " +
                          allowed_types_of(source) + ")");
  }
}

}  // namespace

std::string_view to_string(ErrorSource source) noexcept {
  return kSourceNames[static_cast<std::size_t>(source)];
}

std::optional<ErrorSource> parse_error_source(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kSourceNames.size(); ++i) {
    if (kSourceNames[i] == name) return static_cast<ErrorSource>(i);
  }
  return std::nullopt;
}

bool source_allows(ErrorSource source, ElementType type) noexcept {
  switch (source) {
    case ErrorSource::data:
      return is_data_type(type);
    case ErrorSource::front_side:
    case ErrorSource::selfie:
      return is_identity_document(type);
    case ErrorSource::reverse_side:
      return type == ElementType::driver_license || type == ElementType::identity_card;
    case ErrorSource::file:
    case ErrorSource::files:
      return is_address_document(type);
    case ErrorSource::translation_file:
    case ErrorSource::translation_files:
      return is_identity_document(type) || is_address_document(type);
    case ErrorSource::unspecified:
      return true;
  }
  return false;
}

std::string_view hash_key(ErrorSource source) noexcept {
  switch (source) {
    case ErrorSource::data:
      return "data_hash";
    case ErrorSource::files:
    case ErrorSource::translation_files:
      return "file_hashes";
    case ErrorSource::unspecified:
      return "element_hash";
    default:
      return "file_hash";
  }
}

void validate_element_error(const PassportElementError& error, Strictness strictness,
                            const std::string& where) {
  check_source_allows(error.source, error.type, where);
  const auto hashes_where = field_of(where, hash_key(error.source));
  if (takes_many_hashes(error.source)) {
    if (error.hashes.empty()) throw FormatError(hashes_where, "must hold at least one hash");
  } else if (error.hashes.size() != 1) {
    throw FormatError(hashes_where, "must be exactly one hash");
  }
  for (const auto& hash : error.hashes) {
    if (hash.size() != kHashSize) throw FormatError(hashes_where, "a hash must be 32 bytes");
  }
  if (error.source == ErrorSource::data) {
    const auto field_where = field_of(where, "field_name");
    if (error.field_name.empty()) throw FormatError(field_where, "is missing or empty");
    const auto names = data_field_names(error.type);
    const bool known = std::find(names.begin(), names.end(), error.field_name) != names.end();
    if (strictness == Strictness::own_output && !known) {
      throw FormatError(field_where, quote_untrusted(error.field_name) +
                                         " is not a data field of " +
                                         std::string(to_string(error.type)));
    }
  } else if (!error.field_name.empty()) {
    throw FormatError(field_of(where, "field_name"), "belongs only to data errors");
  }
  if (!is_valid_utf8(error.message)) {
    throw FormatError(field_of(where, "message"), "is not valid UTF-8");
  }
}

PassportElementError parse_element_error(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw FormatError(where, "must be a JSON object");
  PassportElementError error;
  // The Bot API reads a missing or empty source as unspecified.
  if (const auto* source = find_key(json, "source"); source != nullptr) {
    if (!source->is_string()) throw FormatError(field_of(where, "source"), "must be a string");
    const auto name = source->get<std::string>();
    if (!name.empty()) {
      const auto parsed = parse_error_source(name);
      if (!parsed) {
        throw FormatError(field_of(where, "source"),
                          "wrong source specified: " + quote_untrusted(name));
      }
      error.source = *parsed;
    }
  }
  const auto type_name = read_string(json, "type", where);
  const auto type = parse_element_type(type_name);
  if (!type) {
    throw FormatError(field_of(where, "type"),
                      quote_untrusted(type_name) + " is not a Passport element type");
  }
  error.type = *type;
  check_source_allows(error.source, error.type, where);
  error.message = read_string(json, "message", where);
  if (error.source == ErrorSource::data) error.field_name = read_string(json, "field_name", where);

  const auto key = hash_key(error.source);
  const auto hashes_where = field_of(where, key);
  const auto* hashes = find_key(json, key);
  if (hashes == nullptr) throw FormatError(hashes_where, "is missing");
  if (takes_many_hashes(error.source)) {
    if (!hashes->is_array()) throw FormatError(hashes_where, "must be an array of base64 hashes");
    for (std::size_t i = 0; i < hashes->size(); ++i) {
      error.hashes.push_back(read_hash((*hashes)[i], hashes_where + "[" + std::to_string(i) + "]"));
    }
  } else {
    error.hashes.push_back(read_hash(*hashes, hashes_where));
  }
  validate_element_error(error, Strictness::peer_input, where);
  return error;
}

std::vector<PassportElementError> parse_element_errors(const nlohmann::json& json) {
  if (!json.is_array()) throw FormatError("errors", "must be a JSON array");
  std::vector<PassportElementError> errors;
  errors.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    errors.push_back(parse_element_error(json[i], "errors[" + std::to_string(i) + "]"));
  }
  return errors;
}

std::vector<PassportElementError> parse_element_errors(std::string_view json_text) {
  return parse_element_errors(json_fields::parse(json_text, "errors"));
}

nlohmann::ordered_json to_json(const PassportElementError& error) {
  validate_element_error(error, Strictness::own_output);
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  json["source"] = std::string(to_string(error.source));
  json["type"] = std::string(to_string(error.type));
  if (error.source == ErrorSource::data) json["field_name"] = error.field_name;
  const std::string key(hash_key(error.source));
  if (takes_many_hashes(error.source)) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& hash : error.hashes) list.push_back(base64_encode(hash));
    json[key] = std::move(list);
  } else {
    json[key] = base64_encode(error.hashes.front());
  }
  json["message"] = error.message;
  return json;
}

nlohmann::ordered_json to_json(std::span<const PassportElementError> errors) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& error : errors) list.push_back(to_json(error));
  return list;
}

}  // namespace idvault::vault
