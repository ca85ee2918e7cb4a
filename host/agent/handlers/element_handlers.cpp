#include <cstdint>
#include <mutex>
#include <string>

#include "host/agent/element_json.h"
#include "host/agent/handlers/handlers.h"
#include "host/agent/handlers/params.h"

namespace idvault::agent {

using nlohmann::json;
using rpc::CallContext;
using rpc::RpcCode;
using rpc::RpcError;

json process_element_put(HolderAgent& agent, json& params, const CallContext& context) {
  PassedFiles passed;
  vault::PlainElement element = element_from_params(params, &context, &passed);
  const vault::ElementType type = element.type;
  vault::HolderVault::PutHooks hooks;
  if (!passed.empty()) hooks.load = [&passed](SecretBytes& file) { passed.load(file); };
  // {"progress":true}: an element.put.progress notification as each file is encrypted
  // (docs/AGENT.md), for a client that shows how a large put is going.
  std::uint64_t total = 0;
  vault::for_each_file(element, [&total](const SecretBytes& file) { total += file.size(); });
  std::uint64_t done = 0;
  std::mutex progress;  // two encrypting threads: each count is sent after the smaller ones
  if (flag(params, "progress") && total > 0) {
    hooks.encrypted = [&context, &done, &progress, total](std::size_t bytes) {
      std::lock_guard lock(progress);
      done += bytes;
      context.notify("element.put.progress", {{"done", done}, {"total", total}});
    };
  }
  agent.put(std::move(element), hooks);
  return json{{"stored", vault::to_string(type)}};
}

json process_element_get(HolderAgent& agent, json& params, const CallContext&) {
  return agent.get(type_param(params));
}

json process_element_list(HolderAgent& agent, json&, const CallContext&) {
  return agent.list();
}

json process_element_delete(HolderAgent& agent, json& params, const CallContext&) {
  vault::ElementType type = type_param(params);
  if (!agent.remove(type)) {
    throw RpcError(RpcCode::not_found,
                   std::string("no ") + std::string(vault::to_string(type)) + " in the vault");
  }
  return json{{"deleted", vault::to_string(type)}};
}

}  // namespace idvault::agent
