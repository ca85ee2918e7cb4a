#include "host/agent/receipt_signers.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "host/agent/cloud_link.h"
#include "vault/model/errors.h"
#include "vault/signed/identity_key_history.h"

namespace idvault::agent {
namespace {

ReceiptSigners own_keys(vault::VaultStore& store, const vault::SigningKey& identity_key,
                        const std::string& this_device) {
  ReceiptSigners signers;
  const vault::Bytes current = identity_key.public_key_spki_der();
  signers.signers.push_back({current, this_device, true});
  if (auto history = store.setting(kIdentityKeyHistorySetting)) {
    const auto json = nlohmann::json::parse(history->begin(), history->end(), nullptr, false);
    for (auto& key : vault::earlier_identity_keys(json, current))
      signers.signers.push_back({std::move(key), this_device, true});
  }
  return signers;
}

void add_devices(ReceiptSigners& signers, const vault::AccountState& account) {
  for (const auto* devices : {&account.devices, &account.revoked}) {
    for (const auto& [id, device] : *devices) {
      if (signers.find(device.identity_key) == nullptr)
        signers.signers.push_back({device.identity_key, id, false});
    }
  }
}

}  // namespace

std::vector<vault::Bytes> ReceiptSigners::keys() const {
  std::vector<vault::Bytes> keys;
  keys.reserve(signers.size());
  for (const ReceiptSigner& signer : signers) keys.push_back(signer.identity_key);
  return keys;
}

const ReceiptSigner* ReceiptSigners::find(vault::ByteView identity_key) const {
  const auto found = std::find_if(signers.begin(), signers.end(), [&](const ReceiptSigner& s) {
    return std::equal(s.identity_key.begin(), s.identity_key.end(), identity_key.begin(),
                      identity_key.end());
  });
  return found == signers.end() ? nullptr : &*found;
}

ReceiptSigners receipt_signers(vault::VaultStore& store, const vault::SigningKey& identity_key) {
  const std::optional<CloudLink> link = load_cloud_link(store);
  if (!link) return own_keys(store, identity_key, {});
  ReceiptSigners signers = own_keys(store, identity_key, link->device_id);
  try {
    const std::vector<std::string> entries = load_account_log(store);
    if (entries.empty()) {
      signers.account_problem = "no account log kept yet: run 'idvault sync'";
      return signers;
    }
    // From the genesis the account id names; not against the link's head, which moves
    // past the kept log when this device appends an entry (approve, revoke) until the
    // next sync keeps the log again.
    add_devices(signers, vault::AccountLog::verify(entries, link->url.account, nullptr));
  } catch (const std::exception& error) {
    // The store is the user's file: a log altered there names no device at all.
    signers.account_problem =
        std::string("the account log kept here does not verify: ") + error.what();
  }
  return signers;
}

ReceiptSigners receipt_signers(vault::VaultStore& store, const vault::SigningKey& identity_key,
                               const vault::AccountState& account, const std::string& this_device) {
  ReceiptSigners signers = own_keys(store, identity_key, this_device);
  add_devices(signers, account);
  return signers;
}

}  // namespace idvault::agent
