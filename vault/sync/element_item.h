// An element as a cloud item's plaintext (vault/sync/cloud_item.h seals it): the stored
// element exactly as the device keeps it, ciphertext and VK-wrapped secrets only, so any
// device of the account can store it as it is. Files travel apart, named on the server by
// the SHA-256 of their ciphertext; the item lists them:
//   {"type", "data": B64|null, "data_hash", "wrapped_data_secret", "plain": string|null,
//    "element_hash", "updated_at",
//    "files": [{"file_id", "slot", "position", "file_hash", "wrapped_secret", "file_date",
//               "size", "sha256"}]}
// (bytes in base64, sha256 in lowercase hex). Recovery seals are not carried: each device
// seals to the recovery key itself.
//
// Reading is strict, as for anything this version wrote itself: a missing or unknown
// member, or one of the wrong type, is a FormatError naming it ("element_item.files[1].slot").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vault/store/vault_store.h"

namespace idvault::vault {

struct ElementItem {
  // Files without ciphertext: ciphertext_size holds the size, and file_sha256 (below)
  // where to fetch it; stored_name and the recovery seals are empty.
  StoredElement element;
  std::vector<std::string> file_sha256;  // [i] names element.files[i]'s ciphertext
};

// From a stored element read with its file bytes (VaultStore::element(type, true)): each
// file's SHA-256 is computed from its ciphertext. std::invalid_argument if a file that has
// a size came without its bytes.
[[nodiscard]] ElementItem element_item_of(const StoredElement& element);

[[nodiscard]] nlohmann::json element_item_json(const ElementItem& item);
[[nodiscard]] ElementItem parse_element_item(const nlohmann::json& json);

}  // namespace idvault::vault
