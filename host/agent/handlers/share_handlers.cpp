#include "host/agent/handlers/handlers.h"
#include "host/agent/handlers/params.h"
#include "host/rpc/file_descriptor.h"

namespace idvault::agent {

using nlohmann::json;
using rpc::CallContext;
using rpc::RpcCode;
using rpc::RpcError;

json process_authorize(HolderAgent& agent, json& params, const CallContext& context) {
  // {"out":{"attachment":N}}: the bundle goes to that passed file, not into the answer
  // (docs/AGENT.md): a 16 MiB share is 22 MiB of JSON the socket need not carry.
  if (auto out = params.find("out"); out != params.end() && !out->is_null()) {
    if (!out->is_object() || !out->contains("attachment")) {
      throw RpcError(RpcCode::invalid_params, "out: expected {\"attachment\":N} for a passed file");
    }
    rpc::FileDescriptor file = context.take_output_file((*out)["attachment"], "out");
    context.require_all_attachments_taken();
    return agent.authorize(text(params, "link"), file.get());
  }
  return agent.authorize(text(params, "link"));
}

json process_shares(HolderAgent& agent, json& params, const CallContext&) {
  return agent.shares(flag(params, "verify"));
}

json process_attestation_add(HolderAgent& agent, json& params, const CallContext&) {
  auto it = params.find("attestation");
  if (it == params.end() || !it->is_object()) {
    throw RpcError(RpcCode::invalid_params, "attestation: an object is required");
  }
  return agent.add_attestation(*it);
}

json process_attestation_list(HolderAgent& agent, json&, const CallContext&) {
  return agent.attestations();
}

json process_errors_add(HolderAgent& agent, json& params, const CallContext&) {
  auto it = params.find("errors");
  if (it == params.end() || !it->is_object()) {
    throw RpcError(RpcCode::invalid_params,
                   "errors: the signed error list a service sent is required");
  }
  return agent.add_element_errors(*it);
}

}  // namespace idvault::agent
