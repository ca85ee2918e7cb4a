#include "host/cli/agent_messages.h"

#include "host/rpc/json_rpc.h"

namespace idvault::cli {

using rpc::RpcCode;

std::string one_line(std::string_view text, std::size_t limit) {
  std::string line;
  for (char c : text.substr(0, limit))
    line += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  if (text.size() > limit) line += "...";
  return line;
}

std::string describe(const AgentError& error) {
  const std::string message = one_line(error.what());
  switch (static_cast<RpcCode>(error.code())) {
    case RpcCode::wrong_pin:
      if (error.data().is_object() && error.data().value("final_try", false)) {
        return "one PIN try left: run again with --allow-final-try to spend it";
      }
      return message;
    case RpcCode::frame_too_large:
      return "the request is over the agent's 32 MiB limit: use smaller scans";
    case RpcCode::method_not_found:
      return "the agent does not offer this (" + message + "): is it an older idvault-agent?";
    case RpcCode::internal_error:
      return "the agent failed: " + message;
    case RpcCode::parse_error:
    case RpcCode::invalid_request:
      return "the agent did not understand the request (" + message +
             "): idvault and idvault-agent differ in version?";
    default:
      return message;
  }
}

}  // namespace idvault::cli
