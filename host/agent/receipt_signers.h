// Who may sign a receipt this vault keeps, and be named by an attestation it keeps: this
// vault's identity key (on its token) and the ones it had before a recovery, and, in a
// cloud account, the identity key of every device the account log lists (revoked ones
// too: what they shared before they were revoked is the account's history). Each is
// known by the device that holds it, so a listing can say which device made a share.
//
// The account log is the one the store keeps for the account proof (cloud_link.h,
// load_account_log), verified again when read, from the genesis the account id names, so
// the devices are known without the server.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vault/account/account_log.h"
#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"

namespace idvault::agent {

inline constexpr const char* kIdentityKeyHistorySetting = "identity_key_history";

struct ReceiptSigner {
  vault::Bytes identity_key;  // SPKI DER
  std::string device_id;      // empty: this vault outside any account
  bool this_vault = false;    // this vault's key, now or before a recovery
};

struct ReceiptSigners {
  std::vector<ReceiptSigner> signers;
  // Why the account's devices are not among the signers although the vault is in one
  // (the kept log is missing or does not verify); empty otherwise.
  std::string account_problem;

  [[nodiscard]] std::vector<vault::Bytes> keys() const;
  [[nodiscard]] const ReceiptSigner* find(vault::ByteView identity_key) const;
};

// This vault's keys and, when it is in an account, the devices of the kept log.
[[nodiscard]] ReceiptSigners receipt_signers(vault::VaultStore& store,
                                             const vault::SigningKey& identity_key);
// The same with the devices of a log the caller has just verified.
[[nodiscard]] ReceiptSigners receipt_signers(vault::VaultStore& store,
                                             const vault::SigningKey& identity_key,
                                             const vault::AccountState& account,
                                             const std::string& this_device);

}  // namespace idvault::agent
