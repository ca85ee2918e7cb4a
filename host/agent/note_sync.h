// Keeping this device's receipts, attestations and element errors and the account's in
// step (design.md, "Items and merge"): each is one cloud item sealed under VK, named by
// its own hash ("receipt.<entry hash>", "attestation.<SHA-256 of its JSON>",
// "error.<SHA-256 of its JSON>"), written once and never changed, so two devices never
// conflict over one: a 409 on a new one means it is already there.
//
// The store keeps (setting "cloud.notes") the revision of every such item this device
// wrote or took in, so each goes up once and comes down once; a note this device later
// dropped (an element replaced clears its attestations and errors) is not taken in again.
// It also keeps the VK generation its notes were last sealed under: after a rotation
// (devices revoke, here or on another device) every note this device holds is sealed
// again under the new key at its next push, so a note that only one device held still
// opens everywhere; one that no device holds any more stays under the old key and is
// skipped, with a warning, by a device that pulls it.
//
// A pulled item is checked before it is kept, and one that fails is not kept (the log
// says why): a receipt must pass vault::receipt_fault (signed by one of the account's
// devices or this vault, its previous a receipt held here or zeros: receipts that follow
// one another are taken in parent first); an attestation must be signed and name one of
// those identity keys; an element error must read as one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/agent/cloud_link.h"
#include "host/agent/receipt_signers.h"
#include "host/cloud/client/cloud_client.h"
#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"

namespace idvault::agent {

struct NoteCounts {
  std::size_t pushed = 0;
  std::size_t pulled = 0;
  std::size_t refused = 0;  // pulled items not kept: they did not open or pass the checks
};

class NoteSync {
 public:
  NoteSync(cloud::CloudClient& client, const CloudLink& link, vault::VaultStore& store,
           const vault::MasterKey& vault_key, ReceiptSigners signers);

  // Sends every note this device holds that the account does not have yet; with
  // everything, every note again, sealed anew (after a key rotation).
  NoteCounts push(bool everything = false);
  // Reads these items (ids of receipts, attestations and errors from the change feed;
  // others are ignored) and keeps those that are new here and pass the checks.
  NoteCounts pull(const std::vector<std::string>& item_ids);

 private:
  struct Pulled {
    std::string id;
    std::string revision;
    nlohmann::json plaintext;
  };
  cloud::CloudClient& client_;
  const CloudLink& link_;
  vault::VaultStore& store_;
  const vault::MasterKey& vault_key_;
  ReceiptSigners signers_;
  std::map<std::string, std::string> revisions_;  // item id -> revision on the server
  std::uint64_t sealed_at_ = 0;  // the VK generation every note here was last sealed under
  bool unsaved_ = false;

  void record(const std::string& id, const std::string& revision);

  void load_revisions();
  void save_revisions();
  bool push_note(const std::string& id, const nlohmann::json& plaintext, bool everything);
  // Keeps pulled receipts whose previous is held, parents first; refuses the rest.
  void keep_receipts(std::vector<Pulled> receipts, NoteCounts& counts);
  bool keep_note(const Pulled& pulled, NoteCounts& counts);
};

}  // namespace idvault::agent
