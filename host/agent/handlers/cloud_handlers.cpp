// The cloud's methods (docs/AGENT.md, docs/CLOUD.md): cloud.init, cloud.join,
// cloud.join.finish, cloud.recover, devices, devices.approve, cloud.sync, resolve.
#include "host/agent/handlers/handlers.h"
#include "host/agent/handlers/params.h"

namespace idvault::agent {

using nlohmann::json;
using rpc::CallContext;
using rpc::RpcCode;
using rpc::RpcError;

namespace {

std::string optional_text(const json& params, const char* name) {
  return params.contains(name) ? text(params, name) : std::string();
}

}  // namespace

json process_cloud_init(HolderAgent& agent, json& params, const CallContext&) {
  auto code = take_secret(params, "recovery_code");
  if (!code) throw RpcError(RpcCode::invalid_params, "recovery_code: required");
  return agent.cloud_init(text(params, "url"), *code, optional_text(params, "device_name"));
}

json process_cloud_join(HolderAgent& agent, json& params, const CallContext&) {
  SecretBytes pin = take_pin(params);
  return agent.cloud_join(text(params, "account_url"), pin, flag(params, "allow_final_try"),
                          optional_text(params, "device_name"));
}

json process_cloud_recover(HolderAgent& agent, json& params, const CallContext&) {
  auto code = take_secret(params, "recovery_code");
  if (!code) throw RpcError(RpcCode::invalid_params, "recovery_code: required");
  SecretBytes pin = take_pin(params);
  return agent.cloud_recover(text(params, "account_url"), *code, pin,
                             flag(params, "allow_final_try"), optional_text(params, "device_name"));
}

json process_cloud_join_finish(HolderAgent& agent, json&, const CallContext&) {
  return agent.cloud_join_finish();
}

json process_devices(HolderAgent& agent, json&, const CallContext&) {
  return agent.devices();
}

json process_devices_approve(HolderAgent& agent, json& params, const CallContext&) {
  return agent.approve_device(text(params, "id"));
}

json process_devices_revoke(HolderAgent& agent, json& params, const CallContext&) {
  return agent.revoke_device(text(params, "id"));
}

json process_cloud_sync(HolderAgent& agent, json&, const CallContext&) {
  return agent.cloud_sync();
}

json process_resolve(HolderAgent& agent, json& params, const CallContext&) {
  const std::string take = text(params, "take");
  if (take != "local" && take != "remote")
    throw RpcError(RpcCode::invalid_params, "take: must be \"local\" or \"remote\"");
  const auto field = params.contains("field") ? std::optional(text(params, "field")) : std::nullopt;
  return agent.resolve(type_param(params), field,
                       take == "local" ? vault::Take::local : vault::Take::remote);
}

}  // namespace idvault::agent
