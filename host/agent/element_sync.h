// Keeping this device's elements and the account's in step (design.md, "Items and
// merge"). Each element is one cloud item, "element.<type>", sealed under VK; its files
// travel apart, by the SHA-256 of their ciphertext, and are never re-encrypted.
//
// For every item the store keeps (setting "cloud.items") the revision this device last
// wrote or read and that version's plaintext: the parent the next merge starts from.
// An element changed here since its parent is pushed, naming the parent's revision; if
// the server has moved on (409) the item is pulled and merged first. A pulled item that
// this device did not change is stored as it is; one changed on both sides is merged
// field by field, and a field changed differently on both sides is kept as a conflict
// beside the element (both values, nothing dropped) until `idvault resolve` settles it.
//
// An element item's plaintext is element_item.h's object plus, while it has any,
// "conflicts" (element_reconcile.h's list, local meaning the device that wrote it).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "host/agent/cloud_link.h"
#include "host/cloud/client/cloud_client.h"
#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"
#include "vault/sync/element_merge.h"

namespace idvault::agent {

struct SyncCounts {
  std::size_t pushed = 0;
  std::size_t pulled = 0;
  std::size_t conflicts = 0;  // fields in conflict after this run, over all elements
};

// The conflicts kept beside each element, by element type, read from the store alone (no
// server needed): what `idvault list` shows.
[[nodiscard]] std::map<vault::ElementType, std::vector<vault::FieldConflict>> stored_conflicts(
    vault::VaultStore& store);

// The store's sync states with every parent's wrapped secrets moved from one VK to
// another (a key rotation), as a setting to write in the rotation's transaction; the
// parents' ciphertexts stay as they are.
[[nodiscard]] std::pair<std::string, vault::Bytes> rewrapped_sync_states(
    vault::VaultStore& store, const vault::MasterKey& from, const vault::MasterKey& to);

class ElementSync {
 public:
  ElementSync(cloud::CloudClient& client, const CloudLink& link, vault::VaultStore& store,
              const vault::MasterKey& vault_key);

  // Sends every element changed here since its parent, and every deletion; with
  // everything, every element (sealed again: after a key rotation).
  SyncCounts push(bool everything = false);
  // Reads the account's changes after link.changes_seen and applies them; returns the
  // counter reached (to store in the link). The other items that changed (receipts,
  // attestations, errors: note_sync.h's) are added to notes, each once, in feed order.
  SyncCounts pull(std::int64_t& changes_seen, std::vector<std::string>* notes = nullptr);

  // The conflicts kept beside an element on this device.
  [[nodiscard]] std::vector<vault::FieldConflict> conflicts(vault::ElementType type);
  // Settles an element's conflicts (all of them, or one field's) by taking one side;
  // the element is stored again and pushed at the next push. Returns how many settled.
  std::size_t resolve(vault::ElementType type, const std::optional<std::string>& field,
                      vault::Take take);

 private:
  struct ItemState {
    std::string revision;
    nlohmann::json parent;  // the item plaintext agreed on; null: deleted
    std::vector<vault::FieldConflict> conflicts;
  };
  cloud::CloudClient& client_;
  const CloudLink& link_;
  vault::VaultStore& store_;
  const vault::MasterKey& vault_key_;
  std::map<std::string, ItemState> states_;

  void load_states();
  void save_states();
  bool push_element(vault::ElementType type, int retries, bool even_unchanged);
  // Reads one item from the server and brings this device in step with it.
  void pull_item(const std::string& item_id, SyncCounts& counts);
  // Fetches the ciphertext of each file of element that is not here (by the SHA-256 its
  // item names for its file hash) and readies all of them to be stored in a new pack.
  void store_remote_files(vault::StoredElement& element,
                          const std::map<std::string, std::string>& sha_by_hash);
  [[nodiscard]] bool changed_here(const std::string& item_id,
                                  const std::optional<vault::StoredElement>& local) const;
};

}  // namespace idvault::agent
