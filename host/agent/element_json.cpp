#include "host/agent/element_json.h"

#include "common/base64.h"
#include "common/quoted_text.h"
#include "host/rpc/json_rpc.h"
#include "vault/model/errors.h"

namespace idvault::agent {
namespace {

using rpc::RpcCode;
using rpc::RpcError;

SecretBytes file_from(const nlohmann::json& value, const std::string& where,
                      const rpc::CallContext* context, PassedFiles* passed) {
  if (value.is_object() && value.size() == 1 && value.contains("attachment")) {
    if (context == nullptr)
      throw RpcError(RpcCode::invalid_params, where + ": attachments are not accepted here");
    if (passed == nullptr) return context->take_attachment(value["attachment"], where);
    auto file = context->take_file(value["attachment"], where);
    if (auto* bytes = std::get_if<SecretBytes>(&file)) return std::move(*bytes);
    return passed->placeholder(std::move(std::get<rpc::PassedFile>(file)), where);
  }
  if (!value.is_string()) {
    throw RpcError(RpcCode::invalid_params,
                   where + ": expected a base64 string or {\"attachment\":N}");
  }
  try {
    return base64_decode_secret(value.get_ref<const std::string&>(), where);
  } catch (const vault::FormatError& error) {
    throw RpcError(RpcCode::invalid_params, error.what());
  }
}

std::string encode(const SecretBytes& bytes) {
  return base64_encode(bytes.reveal());
}

}  // namespace

vault::PlainElement element_from_params(const nlohmann::json& params,
                                        const rpc::CallContext* context, PassedFiles* passed) {
  if (!params.is_object()) throw RpcError(RpcCode::invalid_params, "params: expected an object");
  auto type_name = params.find("type");
  if (type_name == params.end() || !type_name->is_string()) {
    throw RpcError(RpcCode::invalid_params, "type: expected an element type name");
  }
  auto type = vault::parse_element_type(type_name->get<std::string>());
  if (!type)
    throw RpcError(
        RpcCode::invalid_params,
        "type: unknown element type " + quote_untrusted(type_name->get_ref<const std::string&>()));
  vault::PlainElement element;
  element.type = *type;
  if (auto data = params.find("data"); data != params.end() && !data->is_null()) {
    if (!data->is_object()) throw RpcError(RpcCode::invalid_params, "data: expected a JSON object");
    element.data = *data;
  }
  if (auto value = params.find("value"); value != params.end() && !value->is_null()) {
    if (!value->is_string()) throw RpcError(RpcCode::invalid_params, "value: expected a string");
    element.value = value->get<std::string>();
  }
  for (const char* slot : {"front_side", "reverse_side", "selfie"}) {
    auto it = params.find(slot);
    if (it == params.end() || it->is_null()) continue;
    SecretBytes bytes = file_from(*it, slot, context, passed);
    (std::string_view(slot) == "front_side"     ? element.front_side
     : std::string_view(slot) == "reverse_side" ? element.reverse_side
                                                : element.selfie) = std::move(bytes);
  }
  for (const char* list : {"files", "translation"}) {
    auto it = params.find(list);
    if (it == params.end() || it->is_null()) continue;
    if (!it->is_array())
      throw RpcError(RpcCode::invalid_params, std::string(list) + ": expected an array");
    auto& target = std::string_view(list) == "files" ? element.files : element.translation;
    for (std::size_t i = 0; i < it->size(); ++i) {
      target.push_back(
          file_from((*it)[i], std::string(list) + "[" + std::to_string(i) + "]", context, passed));
    }
  }
  if (context != nullptr) context->require_all_attachments_taken();
  return element;
}

nlohmann::json element_to_json(const vault::PlainElement& element) {
  nlohmann::json json = {{"type", vault::to_string(element.type)}};
  if (!element.data.is_null()) json["data"] = element.data;
  if (!element.value.empty()) json["value"] = element.value;
  if (element.front_side) json["front_side"] = encode(*element.front_side);
  if (element.reverse_side) json["reverse_side"] = encode(*element.reverse_side);
  if (element.selfie) json["selfie"] = encode(*element.selfie);
  if (!element.files.empty()) {
    json["files"] = nlohmann::json::array();
    for (const auto& file : element.files) json["files"].push_back(encode(file));
  }
  if (!element.translation.empty()) {
    json["translation"] = nlohmann::json::array();
    for (const auto& file : element.translation) json["translation"].push_back(encode(file));
  }
  return json;
}

nlohmann::json summary_to_json(const vault::ElementSummary& summary) {
  nlohmann::json json = {{"type", vault::to_string(summary.type)},
                         {"data", summary.has_data},
                         {"front_side", summary.front_side},
                         {"reverse_side", summary.reverse_side},
                         {"selfie", summary.selfie},
                         {"files", summary.files},
                         {"translation", summary.translation},
                         {"updated_at", summary.updated_at}};
  if (summary.plain) json["value"] = *summary.plain;
  json["errors"] = nlohmann::json::array();
  for (const auto& error : summary.errors) json["errors"].push_back(nlohmann::json::parse(error));
  return json;
}

}  // namespace idvault::agent
