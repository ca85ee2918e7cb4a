#include "host/agent/agent_methods.h"
#include "host/agent/handlers/handlers.h"
#include "host/agent/handlers/params.h"

namespace idvault::agent {

using nlohmann::json;
using rpc::CallContext;
using rpc::RpcCode;
using rpc::RpcError;

json process_status(HolderAgent& agent, json&, const CallContext&) {
  json status = agent.status();
  // Files may come as binary attachments after the line instead of base64 in it, or as
  // passed descriptors; saying so lets a client tell this agent from an older one.
  status["attachments"] = json{{"methods", methods_taking_attachments()}, {"descriptors", true}};
  return status;
}

json process_tokens(HolderAgent& agent, json&, const CallContext&) {
  return agent.tokens();
}

json process_init(HolderAgent& agent, json& params, const CallContext&) {
  SecretBytes pin = take_pin(params);
  auto recovery_password = take_secret(params, "recovery_password");
  return agent.init(pin, flag(params, "allow_final_try"), recovery_password);
}

json process_recover(HolderAgent& agent, json& params, const CallContext&) {
  SecretBytes pin = take_pin(params);
  auto password = take_secret(params, "recovery_password");
  if (!password) throw RpcError(RpcCode::invalid_params, "recovery_password: required");
  return agent.recover(pin, *password, flag(params, "allow_final_try"));
}

json process_recovery_add(HolderAgent& agent, json& params, const CallContext&) {
  auto password = take_secret(params, "recovery_password");
  if (!password) throw RpcError(RpcCode::invalid_params, "recovery_password: required");
  return agent.add_recovery(*password);
}

json process_unlock(HolderAgent& agent, json& params, const CallContext&) {
  SecretBytes pin = take_pin(params);
  return agent.unlock(pin, flag(params, "allow_final_try"));
}

json process_lock(HolderAgent& agent, json&, const CallContext&) {
  return agent.lock(LockReason::requested);
}

json process_events_subscribe(HolderAgent&, json&, const CallContext& context) {
  context.subscribe_events();
  return json{{"subscribed", true}};
}

}  // namespace idvault::agent
