#include "vault/sync/element_item.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string_view>

#include "common/base64.h"
#include "common/format_error.h"
#include "common/json_fields.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

using json_fields::path;
using Json = nlohmann::json;

constexpr std::string_view kWhere = "element_item";
constexpr std::array<std::string_view, 5> kSlots = {"front_side", "reverse_side", "selfie", "files",
                                                    "translation"};

// Every member present (null allowed: the caller checks types) and no other.
void expect_exactly(const Json& object, std::initializer_list<std::string_view> names,
                    const std::string& where) {
  json_fields::expect_object(object, where);
  for (const auto name : names) {
    if (!object.contains(name)) throw FormatError(path(where, name), "missing");
  }
  for (const auto& [key, value] : object.items()) {
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      throw FormatError(path(where, key), "not a member of an element item");
    }
  }
}

Bytes require_bytes(const Json& object, std::string_view key, const std::string& where) {
  return base64_decode(json_fields::require_string(object, key, where), path(where, key));
}

std::int64_t require_count(const Json& object, std::string_view key, const std::string& where) {
  const std::int64_t value = json_fields::require_integer(object, key, where);
  if (value < 0) throw FormatError(path(where, key), "must not be negative");
  return value;
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Json file_json(const StoredFile& file, const std::string& sha256) {
  return {{"file_id", file.file_id},
          {"slot", file.slot},
          {"position", file.position},
          {"file_hash", base64_encode(file.file_hash)},
          {"wrapped_secret", base64_encode(file.wrapped_secret)},
          {"file_date", file.file_date},
          {"size", file.ciphertext_size},
          {"sha256", sha256}};
}

StoredFile parse_file(const Json& json, const std::string& where, std::string& sha256) {
  expect_exactly(
      json,
      {"file_id", "slot", "position", "file_hash", "wrapped_secret", "file_date", "size", "sha256"},
      where);
  StoredFile file;
  file.file_id = json_fields::require_string(json, "file_id", where);
  file.slot = json_fields::require_string(json, "slot", where);
  if (std::find(kSlots.begin(), kSlots.end(), file.slot) == kSlots.end()) {
    throw FormatError(path(where, "slot"), "not a file slot");
  }
  const std::int64_t position = require_count(json, "position", where);
  if (position > std::numeric_limits<int>::max()) {
    throw FormatError(path(where, "position"), "too large");
  }
  file.position = static_cast<int>(position);
  file.file_hash = require_bytes(json, "file_hash", where);
  file.wrapped_secret = require_bytes(json, "wrapped_secret", where);
  file.file_date = json_fields::require_integer(json, "file_date", where);
  file.ciphertext_size = static_cast<std::size_t>(require_count(json, "size", where));
  sha256 = json_fields::require_string(json, "sha256", where);
  if (!is_sha256_hex(sha256)) {
    throw FormatError(path(where, "sha256"), "must be 64 lowercase hex digits");
  }
  return file;
}

}  // namespace

ElementItem element_item_of(const StoredElement& element) {
  ElementItem item;
  item.element = element;
  item.element.recovery_sealed_data_secret.clear();
  for (auto& file : item.element.files) {
    if (file.ciphertext.empty() && file.ciphertext_size != 0) {
      throw std::invalid_argument("element_item_of: file " + file.file_id +
                                  " was read without its bytes");
    }
    item.file_sha256.push_back(sha256_hex(file.ciphertext));
    file.ciphertext_size = file.ciphertext.size();
    file.ciphertext.clear();
    file.recovery_sealed_secret.clear();
    file.stored_name.clear();
    file.stored_offset = 0;
  }
  return item;
}

nlohmann::json element_item_json(const ElementItem& item) {
  const StoredElement& element = item.element;
  if (item.file_sha256.size() != element.files.size()) {
    throw std::invalid_argument("element_item_json: one sha256 per file");
  }
  Json files = Json::array();
  for (std::size_t i = 0; i < element.files.size(); ++i) {
    files.push_back(file_json(element.files[i], item.file_sha256[i]));
  }
  return {{"type", to_string(element.type)},
          {"data", element.data ? Json(base64_encode(*element.data)) : Json(nullptr)},
          {"data_hash", base64_encode(element.data_hash)},
          {"wrapped_data_secret", base64_encode(element.wrapped_data_secret)},
          {"plain", element.plain ? Json(*element.plain) : Json(nullptr)},
          {"element_hash", base64_encode(element.element_hash)},
          {"updated_at", element.updated_at},
          {"files", std::move(files)}};
}

ElementItem parse_element_item(const nlohmann::json& json) {
  const std::string where(kWhere);
  expect_exactly(json,
                 {"type", "data", "data_hash", "wrapped_data_secret", "plain", "element_hash",
                  "updated_at", "files"},
                 where);
  ElementItem item;
  StoredElement& element = item.element;
  const auto type = parse_element_type(json_fields::require_string(json, "type", where));
  if (!type) throw FormatError(path(where, "type"), "not an element type");
  element.type = *type;
  if (!json.at("data").is_null()) element.data = require_bytes(json, "data", where);
  element.data_hash = require_bytes(json, "data_hash", where);
  element.wrapped_data_secret = require_bytes(json, "wrapped_data_secret", where);
  if (!json.at("plain").is_null())
    element.plain = json_fields::require_string(json, "plain", where);
  element.element_hash = require_bytes(json, "element_hash", where);
  element.updated_at = json_fields::require_integer(json, "updated_at", where);
  const Json& files = json.at("files");
  if (!files.is_array()) throw FormatError(path(where, "files"), "must be an array");
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string sha256;
    element.files.push_back(parse_file(files[i], path(path(where, "files"), i), sha256));
    item.file_sha256.push_back(std::move(sha256));
  }
  return item;
}

}  // namespace idvault::vault
