// What idvault-cloud stores for an item (design.md, "Items and merge"): ciphertext only.
// The item's plaintext is JSON; the body the server keeps is the canonical JSON
//   {"v":1,"wrapped_secret":B64,"iv":B64,"ciphertext":B64}
// where a fresh 32-byte item secret is wrapped by the vault key VK (KWP) and the
// plaintext is AES-256-GCM-encrypted under it, with additional authenticated data
//   "idvault-cloud item v1\0" || account id || "\0" || item id
// binding the body to its place. A server that serves another account's item, item X
// under id Y, or altered bytes gets one CloudItemError naming the item id.
//
// Item ids: element.<type> (vault/model/element_type.h), receipt.<hex entry hash>,
// attestation.<hex SHA-256 of its JSON>, error.<hex SHA-256 of its JSON>; hex is
// lowercase, 64 digits.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "vault/keys/keys.h"
#include "vault/model/element_type.h"
#include "vault/model/errors.h"

namespace idvault::vault {

// An item body that does not open for this account and id: sealed for another account
// or another item, altered, malformed, or wrapped by another vault key. One message for
// every cause (as DecryptError promises), with the item id so a person knows which.
class CloudItemError : public DecryptError {
 public:
  explicit CloudItemError(const std::string& item_id)
      : DecryptError("cloud item " + item_id +
                     ": does not open under this account's vault key (another account's or "
                     "another item's body, or altered)"),
        item_id_(item_id) {}
  [[nodiscard]] const std::string& item_id() const noexcept { return item_id_; }

 private:
  std::string item_id_;
};

enum class ItemKind { element, receipt, attestation, error };

struct ItemId {
  ItemKind kind = ItemKind::element;
  ElementType element = ElementType::personal_details;  // for ItemKind::element
  std::string hash_hex;                                 // for the others: 64 lowercase hex digits
  friend bool operator==(const ItemId&, const ItemId&) = default;
};

[[nodiscard]] std::string element_item_id(ElementType type);
// entry_hash_hex: the receipt's entry hash as receipt_entry_hash gives it and the store
// keeps it (StoredReceipt::entry_hash holds those 64 characters). std::invalid_argument
// for anything but 64 lowercase hex digits.
[[nodiscard]] std::string receipt_item_id(std::string_view entry_hash_hex);
// json: the attestation or element error exactly as kept (StoredNote::json).
[[nodiscard]] std::string attestation_item_id(std::string_view json);
[[nodiscard]] std::string error_item_id(std::string_view json);
[[nodiscard]] std::string to_string(const ItemId& id);
// Throws FormatError("item_id", ...) for anything but the four forms above.
[[nodiscard]] ItemId parse_item_id(std::string_view text);

// The body for item_id of account. A fresh item secret and IV each time, so sealing the
// same plaintext twice gives different bodies. Throws FormatError("item_id") for an id
// parse_item_id refuses and FormatError("account") for an empty account id or one
// holding a NUL (either would make the additional data ambiguous).
[[nodiscard]] Bytes seal_item(const MasterKey& vk, std::string_view account,
                              std::string_view item_id, const nlohmann::json& plaintext);
// The plaintext of body, or CloudItemError(item_id). The same FormatErrors as seal_item.
[[nodiscard]] nlohmann::json open_item(const MasterKey& vk, std::string_view account,
                                       std::string_view item_id, ByteView body);

}  // namespace idvault::vault
