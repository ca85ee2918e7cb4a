// What the agent's cloud calls say when the server, or what it sent, fails: one RpcError
// a person can act on, naming the server's answer or the part of the account that was
// refused. The rest goes on to translating_errors (rpc_errors.h).
#pragma once

#include <string>

#include "host/cloud/client/cloud_client.h"
#include "host/rpc/json_rpc.h"
#include "vault/account/account_log.h"
#include "vault/account/vault_key_check.h"
#include "vault/sync/cloud_item.h"

namespace idvault::agent {

template <typename Fn>
auto cloud_errors(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const cloud::CloudError& error) {
    throw rpc::RpcError(rpc::RpcCode::delivery_failed,
                        std::string("the cloud server: ") + error.what(),
                        {{"status", error.status}});
  } catch (const vault::AccountLogError& error) {
    throw rpc::RpcError(rpc::RpcCode::bad_input,
                        std::string("the account log the server sent is refused: ") + error.what());
  } catch (const vault::CloudItemError& error) {
    throw rpc::RpcError(rpc::RpcCode::bad_input,
                        std::string("an item the server sent is refused: ") + error.what());
  } catch (const vault::VaultKeyCheckError& error) {
    throw rpc::RpcError(rpc::RpcCode::bad_input, error.what());
  }
}

}  // namespace idvault::agent
