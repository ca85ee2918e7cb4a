// The agent's dispatch table: one small handler per method, looked up by name, in the
// manner of ssh-agent's process_* table.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "host/rpc/json_rpc.h"
#include "host/rpc/peer_credentials.h"

namespace idvault::rpc {

// What a handler knows of its call besides the params.
class CallContext {
 public:
  CallContext(PeerIdentity peer, std::function<void()> subscribe)
      : peer_(peer), subscribe_(std::move(subscribe)) {}
  [[nodiscard]] const PeerIdentity& peer() const noexcept { return peer_; }
  // Asks for server-pushed notifications (token in/out, lock) on this connection.
  void subscribe_events() const { subscribe_(); }

 private:
  PeerIdentity peer_;
  std::function<void()> subscribe_;
};

// Returns the result; throws RpcError for anything the caller should see. params is
// mutable so a handler can wipe a secret (a PIN) out of it once taken. Any other
// exception becomes internal_error with a generic message (details are not leaked).
using MethodHandler = std::function<nlohmann::json(nlohmann::json& params, const CallContext&)>;

class MethodTable {
 public:
  void add(std::string name, MethodHandler handler) { handlers_[std::move(name)] = std::move(handler); }
  [[nodiscard]] const MethodHandler* find(const std::string& name) const {
    auto it = handlers_.find(name);
    return it == handlers_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, MethodHandler, std::less<>> handlers_;
};

}  // namespace idvault::rpc
