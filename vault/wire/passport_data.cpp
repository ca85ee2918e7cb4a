#include "vault/wire/passport_data.h"

#include "common/json_fields.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using json_fields::Json;
using json_fields::path;

constexpr std::string_view kRoot = "passport_data";

// A slot is read only if the type may carry it; a required slot must be there.
std::optional<PassportFile> read_slot(const Json& element, std::string_view key, Slot rule,
                                      std::string_view where) {
  const Json* file = json_fields::optional_object(element, key, where);
  if (file == nullptr) {
    if (rule == Slot::required) throw FormatError(path(where, key), "missing");
    return std::nullopt;
  }
  if (rule == Slot::forbidden) throw FormatError(path(where, key), "not allowed for this type");
  return passport_file_from_json(*file, path(where, key));
}

std::vector<PassportFile> read_slot_list(const Json& element, std::string_view key, Slot rule,
                                         std::string_view where) {
  std::vector<PassportFile> out;
  const Json* list = json_fields::optional_array(element, key, where);
  const std::string list_where = path(where, key);
  if (list == nullptr || list->empty()) {
    if (rule == Slot::required) throw FormatError(list_where, "must hold at least one file");
    return out;
  }
  if (rule == Slot::forbidden) throw FormatError(list_where, "not allowed for this type");
  out.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    json_fields::expect_object((*list)[i], path(list_where, i));
    out.push_back(passport_file_from_json((*list)[i], path(list_where, i)));
  }
  return out;
}

EncryptedPassportElement read_element(const Json& json, std::string_view where) {
  json_fields::expect_object(json, where);
  EncryptedPassportElement out;
  const std::string& type_name = json_fields::require_string(json, "type", where);
  const auto type = parse_element_type(type_name);
  if (!type) throw FormatError(path(where, "type"), "unknown element type \"" + type_name + "\"");
  out.type = *type;
  const std::string element_where = std::string(where) + " (" + type_name + ")";
  const ElementRules& rules = rules_for(out.type);

  if (rules.data) {
    out.data = json_fields::require_string(json, "data", element_where);
  } else if (json_fields::find(json, "data") != nullptr) {
    throw FormatError(path(element_where, "data"), "not allowed for this type");
  }
  if (out.type == ElementType::phone_number) {
    out.phone_number = json_fields::require_string(json, "phone_number", element_where);
  } else if (out.type == ElementType::email) {
    out.email = json_fields::require_string(json, "email", element_where);
  }
  out.files = read_slot_list(json, "files", rules.files, element_where);
  out.front_side = read_slot(json, "front_side", rules.front_side, element_where);
  out.reverse_side = read_slot(json, "reverse_side", rules.reverse_side, element_where);
  out.selfie = read_slot(json, "selfie", rules.selfie, element_where);
  out.translation = read_slot_list(json, "translation", rules.translation, element_where);
  out.hash = json_fields::optional_string(json, "hash", element_where);
  return out;
}

}  // namespace

PassportFile passport_file_from_json(const nlohmann::json& json, std::string_view where) {
  json_fields::expect_object(json, where);
  PassportFile out;
  out.file_id = json_fields::require_string(json, "file_id", where);
  if (out.file_id.empty()) throw FormatError(path(where, "file_id"), "must not be empty");
  out.file_unique_id = json_fields::optional_string(json, "file_unique_id", where);
  out.file_size = json_fields::optional_integer(json, "file_size", where).value_or(0);
  out.file_date = json_fields::require_integer(json, "file_date", where);
  return out;
}

EncryptedCredentials encrypted_credentials_from_json(const nlohmann::json& json,
                                                     std::string_view where) {
  json_fields::expect_object(json, where);
  return EncryptedCredentials{json_fields::require_string(json, "data", where),
                              json_fields::require_string(json, "hash", where),
                              json_fields::require_string(json, "secret", where)};
}

PassportData passport_data_from_json(const nlohmann::json& json) {
  json_fields::expect_object(json, kRoot);
  PassportData out;
  const Json* elements = json_fields::optional_array(json, "data", kRoot);
  if (elements == nullptr) throw FormatError(path(kRoot, "data"), "missing");
  const std::string data_where = path(kRoot, "data");
  out.data.reserve(elements->size());
  for (std::size_t i = 0; i < elements->size(); ++i) {
    out.data.push_back(read_element((*elements)[i], path(data_where, i)));
    for (std::size_t j = 0; j < i; ++j) {
      // Credentials are keyed by type, so a second element of a type could not be decrypted.
      if (out.data[j].type == out.data[i].type) {
        throw FormatError(path(path(data_where, i), "type"), "type appears twice");
      }
    }
  }
  out.credentials = encrypted_credentials_from_json(
      json_fields::require_object(json, "credentials", kRoot), path(kRoot, "credentials"));
  return out;
}

PassportData parse_passport_data(std::string_view json_text) {
  return passport_data_from_json(json_fields::parse(json_text, kRoot));
}

nlohmann::ordered_json to_json(const PassportFile& file) {
  nlohmann::ordered_json out = {{"file_id", file.file_id}};
  if (file.file_unique_id) out["file_unique_id"] = *file.file_unique_id;
  if (file.file_size != 0) out["file_size"] = file.file_size;
  out["file_date"] = file.file_date;
  return out;
}

nlohmann::ordered_json to_json(const EncryptedCredentials& credentials) {
  return {{"data", credentials.data}, {"hash", credentials.hash}, {"secret", credentials.secret}};
}

nlohmann::ordered_json to_json(const EncryptedPassportElement& element) {
  nlohmann::ordered_json out = {{"type", std::string(to_string(element.type))}};
  if (element.data) out["data"] = *element.data;
  if (element.phone_number) out["phone_number"] = *element.phone_number;
  if (element.email) out["email"] = *element.email;
  if (!element.files.empty()) {
    out["files"] = nlohmann::ordered_json::array();
    for (const auto& file : element.files) out["files"].push_back(to_json(file));
  }
  if (element.front_side) out["front_side"] = to_json(*element.front_side);
  if (element.reverse_side) out["reverse_side"] = to_json(*element.reverse_side);
  if (element.selfie) out["selfie"] = to_json(*element.selfie);
  if (!element.translation.empty()) {
    out["translation"] = nlohmann::ordered_json::array();
    for (const auto& file : element.translation) out["translation"].push_back(to_json(file));
  }
  if (element.hash) out["hash"] = *element.hash;
  return out;
}

nlohmann::ordered_json to_json(const PassportData& passport_data) {
  nlohmann::ordered_json elements = nlohmann::ordered_json::array();
  for (const auto& element : passport_data.data) elements.push_back(to_json(element));
  return {{"data", std::move(elements)}, {"credentials", to_json(passport_data.credentials)}};
}

}  // namespace idvault::vault
