// The agent's socket API: one small handler per JSON-RPC method, each translating
// params to a HolderAgent call. The method names are the contract clients rely on:
//   status, tokens, init, recover, recovery.add, unlock, lock,
//   element.put, element.get, element.list, element.delete,
//   authorize, shares, attestation.add, attestation.list, errors.add, events.subscribe
#pragma once

#include "host/agent/holder_agent.h"
#include "host/rpc/method_table.h"

namespace idvault::agent {

void register_agent_methods(rpc::MethodTable& table, HolderAgent& agent);

}  // namespace idvault::agent
