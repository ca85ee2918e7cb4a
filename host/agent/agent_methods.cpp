#include "host/agent/agent_methods.h"

#include <string.h>

#include <cstdint>
#include <mutex>

#include "host/agent/audit_log.h"
#include "host/agent/element_json.h"
#include "host/rpc/json_rpc.h"
#include "common/quoted_text.h"

namespace idvault::agent {
namespace {

using nlohmann::json;
using rpc::CallContext;
using rpc::RpcCode;
using rpc::RpcError;

// Moves a PIN or password out of the params into a SecretBytes and wipes the JSON string
// it came in, so the only copy left is the one that wipes itself.
std::optional<SecretBytes> take_secret(json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw RpcError(RpcCode::invalid_params, std::string(name) + ": a non-empty string is required");
  }
  std::string& text = it->get_ref<std::string&>();
  SecretBytes secret = SecretBytes::from_string(text);
  ::explicit_bzero(text.data(), text.size());
  params.erase(it);
  return secret;
}

SecretBytes take_pin(json& params) {
  auto pin = take_secret(params, "pin");
  if (!pin) throw RpcError(RpcCode::invalid_params, "pin: a non-empty string is required");
  return std::move(*pin);
}

bool flag(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw RpcError(RpcCode::invalid_params, std::string(name) + ": expected true or false");
  return it->get<bool>();
}

std::string text(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || !it->is_string()) {
    throw RpcError(RpcCode::invalid_params, std::string(name) + ": a string is required");
  }
  return it->get<std::string>();
}

vault::ElementType type_param(const json& params) {
  std::string name = text(params, "type");
  auto type = vault::parse_element_type(name);
  if (!type)
    throw RpcError(RpcCode::invalid_params,
                   "type: unknown element type " + quote_untrusted(name));
  return *type;
}

}  // namespace

void register_agent_methods(rpc::MethodTable& audited_table, HolderAgent& agent) {
  // Every method goes into the table through the audit wrapper: who asked, what, result.
  struct AuditingTable {
    rpc::MethodTable& table;
    void add(std::string name, rpc::MethodHandler handler) { table.add(name, audited(name, std::move(handler))); }
  } table{audited_table};

  // Files of a put may come as binary attachments after the line instead of base64 in
  // it; status says so, so a client can tell this agent from an older one.
  audited_table.accept_attachments("element.put");
  audited_table.accept_attachments("authorize");
  table.add("status", [&agent](json&, const CallContext&) {
    json status = agent.status();
    status["attachments"] = json{{"methods", json::array({"element.put", "authorize"})}, {"descriptors", true}};
    return status;
  });
  table.add("tokens", [&agent](json&, const CallContext&) { return agent.tokens(); });
  table.add("init", [&agent](json& params, const CallContext&) {
    SecretBytes pin = take_pin(params);
    auto recovery_password = take_secret(params, "recovery_password");
    return agent.init(pin, flag(params, "allow_final_try"), recovery_password);
  });
  table.add("recover", [&agent](json& params, const CallContext&) {
    SecretBytes pin = take_pin(params);
    auto password = take_secret(params, "recovery_password");
    if (!password) throw RpcError(RpcCode::invalid_params, "recovery_password: required");
    return agent.recover(pin, *password, flag(params, "allow_final_try"));
  });
  table.add("recovery.add", [&agent](json& params, const CallContext&) {
    auto password = take_secret(params, "recovery_password");
    if (!password) throw RpcError(RpcCode::invalid_params, "recovery_password: required");
    return agent.add_recovery(*password);
  });
  table.add("unlock", [&agent](json& params, const CallContext&) {
    SecretBytes pin = take_pin(params);
    return agent.unlock(pin, flag(params, "allow_final_try"));
  });
  table.add("lock",
            [&agent](json&, const CallContext&) { return agent.lock(LockReason::requested); });

  table.add("element.put", [&agent](json& params, const CallContext& context) {
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
  });
  table.add("element.get", [&agent](json& params, const CallContext&) { return agent.get(type_param(params)); });
  table.add("element.list", [&agent](json&, const CallContext&) { return agent.list(); });
  table.add("element.delete", [&agent](json& params, const CallContext&) {
    vault::ElementType type = type_param(params);
    if (!agent.remove(type)) {
      throw RpcError(RpcCode::not_found, std::string("no ") + std::string(vault::to_string(type)) + " in the vault");
    }
    return json{{"deleted", vault::to_string(type)}};
  });

  table.add("authorize", [&agent](json& params, const CallContext& context) {
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
  });
  table.add("shares", [&agent](json& params, const CallContext&) { return agent.shares(flag(params, "verify")); });
  table.add("attestation.add", [&agent](json& params, const CallContext&) {
    auto it = params.find("attestation");
    if (it == params.end() || !it->is_object()) throw RpcError(RpcCode::invalid_params, "attestation: an object is required");
    return agent.add_attestation(*it);
  });
  table.add("attestation.list", [&agent](json&, const CallContext&) { return agent.attestations(); });
  table.add("errors.add", [&agent](json& params, const CallContext&) {
    auto it = params.find("errors");
    if (it == params.end() || !it->is_object()) {
      throw RpcError(RpcCode::invalid_params, "errors: the signed error list a service sent is required");
    }
    return agent.add_element_errors(*it);
  });
  table.add("events.subscribe", [](json&, const CallContext& context) {
    context.subscribe_events();
    return json{{"subscribed", true}};
  });
}

}  // namespace idvault::agent
