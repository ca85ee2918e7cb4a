// One process_* function per method of the agent's socket API (docs/AGENT.md), in the
// manner of ssh-agent: each reads its params, makes one HolderAgent call and shapes the
// answer. register_agent_methods (host/agent/agent_methods.cpp) puts them in the table.
#pragma once

#include <nlohmann/json.hpp>

#include "host/agent/holder_agent.h"
#include "host/rpc/method_table.h"

namespace idvault::agent {

// The shape every handler has: params are mutable so a secret can be wiped out of them.
using AgentHandler = nlohmann::json (*)(HolderAgent& agent, nlohmann::json& params,
                                        const rpc::CallContext& context);

// The vault's life (handlers/vault_handlers.cpp): status, tokens, init, recover,
// recovery.add, unlock, lock.
nlohmann::json process_status(HolderAgent& agent, nlohmann::json& params,
                              const rpc::CallContext& context);
nlohmann::json process_tokens(HolderAgent& agent, nlohmann::json& params,
                              const rpc::CallContext& context);
nlohmann::json process_init(HolderAgent& agent, nlohmann::json& params,
                            const rpc::CallContext& context);
nlohmann::json process_recover(HolderAgent& agent, nlohmann::json& params,
                               const rpc::CallContext& context);
nlohmann::json process_recovery_add(HolderAgent& agent, nlohmann::json& params,
                                    const rpc::CallContext& context);
nlohmann::json process_unlock(HolderAgent& agent, nlohmann::json& params,
                              const rpc::CallContext& context);
nlohmann::json process_lock(HolderAgent& agent, nlohmann::json& params,
                            const rpc::CallContext& context);

// The stored elements (handlers/element_handlers.cpp): element.put, element.get,
// element.list, element.delete.
nlohmann::json process_element_put(HolderAgent& agent, nlohmann::json& params,
                                   const rpc::CallContext& context);
nlohmann::json process_element_get(HolderAgent& agent, nlohmann::json& params,
                                   const rpc::CallContext& context);
nlohmann::json process_element_list(HolderAgent& agent, nlohmann::json& params,
                                    const rpc::CallContext& context);
nlohmann::json process_element_delete(HolderAgent& agent, nlohmann::json& params,
                                      const rpc::CallContext& context);

// Sharing and what services sent back (handlers/share_handlers.cpp): authorize, shares,
// attestation.add, attestation.list, errors.add.
nlohmann::json process_authorize(HolderAgent& agent, nlohmann::json& params,
                                 const rpc::CallContext& context);
nlohmann::json process_shares(HolderAgent& agent, nlohmann::json& params,
                              const rpc::CallContext& context);
nlohmann::json process_attestation_add(HolderAgent& agent, nlohmann::json& params,
                                       const rpc::CallContext& context);
nlohmann::json process_attestation_list(HolderAgent& agent, nlohmann::json& params,
                                        const rpc::CallContext& context);
nlohmann::json process_errors_add(HolderAgent& agent, nlohmann::json& params,
                                  const rpc::CallContext& context);

// The cloud (handlers/cloud_handlers.cpp): cloud.init, cloud.join, cloud.join.finish,
// cloud.recover, devices, devices.approve, devices.revoke, cloud.sync, resolve.
nlohmann::json process_cloud_init(HolderAgent& agent, nlohmann::json& params,
                                  const rpc::CallContext& context);
nlohmann::json process_cloud_join(HolderAgent& agent, nlohmann::json& params,
                                  const rpc::CallContext& context);
nlohmann::json process_cloud_join_finish(HolderAgent& agent, nlohmann::json& params,
                                         const rpc::CallContext& context);
nlohmann::json process_cloud_recover(HolderAgent& agent, nlohmann::json& params,
                                     const rpc::CallContext& context);
nlohmann::json process_devices(HolderAgent& agent, nlohmann::json& params,
                               const rpc::CallContext& context);
nlohmann::json process_devices_approve(HolderAgent& agent, nlohmann::json& params,
                                       const rpc::CallContext& context);
nlohmann::json process_devices_revoke(HolderAgent& agent, nlohmann::json& params,
                                      const rpc::CallContext& context);
nlohmann::json process_cloud_sync(HolderAgent& agent, nlohmann::json& params,
                                  const rpc::CallContext& context);
nlohmann::json process_resolve(HolderAgent& agent, nlohmann::json& params,
                               const rpc::CallContext& context);

// Notifications (handlers/vault_handlers.cpp): events.subscribe.
nlohmann::json process_events_subscribe(HolderAgent& agent, nlohmann::json& params,
                                        const rpc::CallContext& context);

}  // namespace idvault::agent
