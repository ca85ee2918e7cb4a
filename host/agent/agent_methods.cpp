#include "host/agent/agent_methods.h"

#include <string>

#include "host/agent/audit_log.h"
#include "host/agent/handlers/handlers.h"

namespace idvault::agent {
namespace {

using nlohmann::json;

struct AgentMethod {
  const char* name;
  AgentHandler handler;
  // Files may follow the line as binary attachments or come as passed descriptors; a
  // request with attachments for any other method is refused before its handler runs.
  bool takes_attachments = false;
};

// Whether a method needs the vault unlocked is HolderAgent's to check (with_unlocked),
// after the handler has read its params, so it is not a column here.
constexpr AgentMethod kAgentMethods[] = {
    {"status", process_status},
    {"tokens", process_tokens},
    {"init", process_init},
    {"recover", process_recover},
    {"recovery.add", process_recovery_add},
    {"unlock", process_unlock},
    {"lock", process_lock},
    {"element.put", process_element_put, true},
    {"element.get", process_element_get},
    {"element.list", process_element_list},
    {"element.delete", process_element_delete},
    {"authorize", process_authorize, true},
    {"shares", process_shares},
    {"attestation.add", process_attestation_add},
    {"attestation.list", process_attestation_list},
    {"errors.add", process_errors_add},
    {"cloud.init", process_cloud_init},
    {"cloud.join", process_cloud_join},
    {"cloud.join.finish", process_cloud_join_finish},
    {"cloud.recover", process_cloud_recover},
    {"devices", process_devices},
    {"devices.approve", process_devices_approve},
    {"devices.revoke", process_devices_revoke},
    {"cloud.sync", process_cloud_sync},
    {"resolve", process_resolve},
    {"events.subscribe", process_events_subscribe},
};

}  // namespace

void register_agent_methods(rpc::MethodTable& table, HolderAgent& agent) {
  for (const AgentMethod& method : kAgentMethods) {
    const AgentHandler handler = method.handler;
    // Who asked, what, and the result go to the audit stream for every method.
    table.add(method.name, audited(method.name, [&agent, handler](json& params,
                                                                  const rpc::CallContext& context) {
                return handler(agent, params, context);
              }));
    if (method.takes_attachments) table.accept_attachments(method.name);
  }
}

json methods_taking_attachments() {
  json names = json::array();
  for (const AgentMethod& method : kAgentMethods) {
    if (method.takes_attachments) names.push_back(method.name);
  }
  return names;
}

}  // namespace idvault::agent
