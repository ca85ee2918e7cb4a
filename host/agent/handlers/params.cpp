#include "host/agent/handlers/params.h"

#include <string.h>

#include "common/quoted_text.h"
#include "host/rpc/json_rpc.h"

namespace idvault::agent {

using nlohmann::json;
using rpc::RpcCode;
using rpc::RpcError;

std::optional<SecretBytes> take_secret(json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw RpcError(RpcCode::invalid_params, std::string(name) + ": a non-empty string is required");
  }
  // The only copy left is the one that wipes itself.
  std::string& text = it->get_ref<std::string&>();
  SecretBytes secret = SecretBytes::from_string(text);
  ::explicit_bzero(text.data(), text.size());
  params.erase(it);
  return secret;
}

SecretBytes take_pin(json& params) {
  auto pin = take_secret(params, "pin");
  if (!pin) throw RpcError(RpcCode::invalid_params, "pin: a non-empty string is required");
  return std::move(*pin);
}

bool flag(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return false;
  if (!it->is_boolean())
    throw RpcError(RpcCode::invalid_params, std::string(name) + ": expected true or false");
  return it->get<bool>();
}

std::string text(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || !it->is_string()) {
    throw RpcError(RpcCode::invalid_params, std::string(name) + ": a string is required");
  }
  return it->get<std::string>();
}

vault::ElementType type_param(const json& params) {
  std::string name = text(params, "type");
  auto type = vault::parse_element_type(name);
  if (!type)
    throw RpcError(RpcCode::invalid_params, "type: unknown element type " + quote_untrusted(name));
  return *type;
}

}  // namespace idvault::agent
