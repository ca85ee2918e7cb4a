// Reconciling one element between this device and the account (design.md, "Items and
// merge") on its stored form: decrypts the data of the parent both sides last agreed
// on, of this device's element and of the server's (their secrets are wrapped by the
// account's VK, so each device opens the others'), merges field by field
// (element_merge.h), and builds the element to store and push. Data that changed on
// both sides is encrypted again under a fresh data secret; files are never re-encrypted:
// each merged slot takes the StoredFile (ciphertext, wrapped secret) of whichever side
// had that file.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"
#include "vault/sync/element_merge.h"

namespace idvault::vault {

// One side as stored: the element (nullopt: absent or deleted) and the conflicts recorded
// beside it, from this device's point of view (local = this device).
struct StoredSide {
  std::optional<StoredElement> element;
  std::vector<FieldConflict> conflicts;
};

struct Reconciled {
  std::optional<StoredElement> element;  // nullopt: the element is deleted
  std::vector<FieldConflict> conflicts;
};

// Files of the result are copies of the sides' StoredFiles as given (with or without
// their ciphertext bytes: the caller fetches what it lacks). The merged element gets a
// fresh element hash when it differs from both sides. Throws DecryptError when a side's
// data does not open under vk, FormatError naming the element when its data is not JSON.
[[nodiscard]] Reconciled reconcile_element(const MasterKey& vk, const StoredSide& parent,
                                           const StoredSide& local, const StoredSide& remote);

// Conflicts as an item carries them: [{"field","local","remote"}], local meaning the
// device that wrote it. swap: read another device's list, so local means this device.
[[nodiscard]] nlohmann::json conflicts_json(const std::vector<FieldConflict>& conflicts);
[[nodiscard]] std::vector<FieldConflict> conflicts_from_json(const nlohmann::json& json, bool swap);

}  // namespace idvault::vault

namespace idvault::vault {

// Settles local's conflicts on field (all when nullopt) by taking one side's value, and
// builds the element that results. other: the other device's last version (what the
// conflicts' remote values came from), for the files this device does not hold.
[[nodiscard]] Reconciled resolve_element(const MasterKey& vk, const StoredSide& local,
                                         const StoredSide& other,
                                         const std::optional<std::string>& field, Take take,
                                         std::size_t& settled);

}  // namespace idvault::vault
