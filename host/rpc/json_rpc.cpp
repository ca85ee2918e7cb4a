#include "host/rpc/json_rpc.h"

#include "common/json_fields.h"
#include "host/rpc/compact_json.h"
#include "host/rpc/json_line_parser.h"

namespace idvault::rpc {
namespace {

bool valid_id(const nlohmann::json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned() || id.is_null();
}

std::string compact_line(const nlohmann::json& message) {
  // Invalid UTF-8 in anything we echo back is replaced, not thrown: the client's bytes
  // must never make the agent fail to answer.
  std::string line;
  append_compact_json(message, line);
  line.push_back('\n');
  return line;
}

}  // namespace

RpcRequest parse_request(std::string_view line, nlohmann::json& id_for_error) {
  id_for_error = nullptr;
  nlohmann::json message = parse_json_line(line);
  if (message.is_discarded()) {
    if (json_fields::nests_too_deep(line)) {
      throw RpcError(RpcCode::parse_error, "parse error: nested deeper than " +
                                               std::to_string(json_fields::kMaxDepth) + " levels");
    }
    throw RpcError(RpcCode::parse_error, "parse error: not valid JSON");
  }
  if (!message.is_object()) {
    throw RpcError(RpcCode::invalid_request, "invalid request: expected a JSON object");
  }
  RpcRequest request;
  if (auto it = message.find("id"); it != message.end()) {
    if (!valid_id(*it)) {
      throw RpcError(RpcCode::invalid_request,
                     "invalid request: id must be a string or an integer");
    }
    id_for_error = *it;
    request.id = *it;
  } else {
    request.is_notification = true;
  }
  auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") {
    throw RpcError(RpcCode::invalid_request, "invalid request: \"jsonrpc\" must be \"2.0\"");
  }
  auto method = message.find("method");
  if (method == message.end() || !method->is_string() ||
      method->get_ref<const std::string&>().empty()) {
    throw RpcError(RpcCode::invalid_request,
                   "invalid request: \"method\" must be a non-empty string");
  }
  request.method = method->get<std::string>();
  if (auto params = message.find("params"); params != message.end()) {
    if (!params->is_object() && !params->is_array()) {
      throw RpcError(RpcCode::invalid_request,
                     "invalid request: \"params\" must be an object or an array");
    }
    request.params = std::move(*params);
  }
  return request;
}

std::string format_result(const nlohmann::json& id, nlohmann::json result) {
  nlohmann::json message = nlohmann::json::object();
  message["jsonrpc"] = "2.0";
  message["id"] = id;
  message["result"] = std::move(result);  // an initializer list would copy megabytes of scans
  return compact_line(message);
}

std::string format_notification(std::string_view method, const nlohmann::json& params) {
  return compact_line({{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
}

std::string format_error(const nlohmann::json& id, RpcCode code, std::string_view message,
                         const nlohmann::json& data) {
  nlohmann::json error = {{"code", static_cast<int>(code)}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return compact_line({{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}});
}

}  // namespace idvault::rpc
