// One place that turns what the vault and the token layer throw into the agent's stable
// JSON-RPC errors, with messages a person can act on ("wrong PIN, 2 tries left",
// "token not present") and no secret in them.
#pragma once

#include "host/rpc/json_rpc.h"

namespace idvault::agent {

// Call inside a catch block: rethrows the current exception as an RpcError.
[[noreturn]] void rethrow_as_rpc_error();

// Runs fn, translating any exception with rethrow_as_rpc_error().
template <typename Fn>
auto translating_errors(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    rethrow_as_rpc_error();
  }
}

}  // namespace idvault::agent
