// The agent's socket API: the table of its JSON-RPC methods, each a process_* handler
// (host/agent/handlers/) that translates params to a HolderAgent call. The method names
// are the contract clients rely on (docs/AGENT.md):
//   status, tokens, init, recover, recovery.add, unlock, lock,
//   element.put, element.get, element.list, element.delete,
//   authorize, shares, attestation.add, attestation.list, errors.add, events.subscribe
#pragma once

#include <nlohmann/json.hpp>

#include "host/agent/holder_agent.h"
#include "host/rpc/method_table.h"

namespace idvault::agent {

// Adds every method to `table`, each through the audit wrapper (audit_log.h), and marks
// the ones that take attachments.
void register_agent_methods(rpc::MethodTable& table, HolderAgent& agent);

// The methods that take files as attachments or passed descriptors, in table order (what
// status tells clients).
[[nodiscard]] nlohmann::json methods_taking_attachments();

}  // namespace idvault::agent
