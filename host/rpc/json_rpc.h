// JSON-RPC 2.0 as the agent speaks it: one compact JSON object per line.
//
// Every failure a client can cause becomes an RpcError with a stable code and a
// message a person can act on; nothing a client sends can throw past the dispatcher.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace idvault::rpc {

// Stable error codes. The -326xx/-32700 ones are JSON-RPC's own; the -320xx ones are
// the agent's, and clients may switch on them.
enum class RpcCode : int {
  parse_error = -32700,
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  frame_too_large = -32001,
  not_initialised = -32002,
  locked = -32003,
  wrong_pin = -32004,
  pin_locked = -32005,
  token_not_present = -32006,
  consent_refused = -32007,
  not_found = -32008,
  bad_input = -32009,  // a well-formed request whose content is wrong (bad field, bad link)
  token_error = -32010,
  already_initialised = -32011,
  delivery_failed = -32012,
  busy = -32013,
};

class RpcError : public std::runtime_error {
 public:
  RpcError(RpcCode code, const std::string& message, nlohmann::json data = nullptr)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  [[nodiscard]] RpcCode code() const noexcept { return code_; }
  [[nodiscard]] const nlohmann::json& data() const noexcept { return data_; }

 private:
  RpcCode code_;
  nlohmann::json data_;
};

struct RpcRequest {
  std::string method;
  nlohmann::json params;         // object, array, or null when absent
  nlohmann::json id;             // null for a notification-less call that had "id": null
  bool is_notification = false;  // no "id" member: the client wants no answer
};

// Parses and validates one line. Throws RpcError(parse_error) for text that is not
// JSON, RpcError(invalid_request) for JSON that is not a JSON-RPC 2.0 request. The id
// is recovered where possible so the error can be addressed to it.
[[nodiscard]] RpcRequest parse_request(std::string_view line, nlohmann::json& id_for_error);

// One compact line each, terminated by '\n'.
[[nodiscard]] std::string format_result(const nlohmann::json& id, nlohmann::json result);
// A notification (no id): an event, or a call's progress before its answer.
[[nodiscard]] std::string format_notification(std::string_view method,
                                              const nlohmann::json& params);
[[nodiscard]] std::string format_error(const nlohmann::json& id, RpcCode code,
                                       std::string_view message,
                                       const nlohmann::json& data = nullptr);

}  // namespace idvault::rpc
