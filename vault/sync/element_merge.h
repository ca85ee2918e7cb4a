// The three-way, field-by-field merge of one element (design.md, "Items and merge"), on
// the plaintext view: the agent decrypts the parent it kept, its own element and the
// server's, merges them here, and encrypts the result under a fresh data secret.
//
// An element's fields, each compared as a whole:
//   "data.<name>"   each member of its decrypted data object (PlainElement::data);
//                   "" and absent mean the same in Telegram, so "" is absent here
//   "plain"         the phone number or e-mail address (PlainElement::value)
//   "front_side", "reverse_side", "selfie", "files", "translation"
//                   the files of the slot, each named by its file_hash (SHA-256 of its
//                   padded plaintext, StoredFile::file_hash) in lowercase hex; a list
//                   slot compares as the whole ordered list
// plus "element", the name a conflict between deleting and editing the element has.
//
// Rules: a field changed on one side only takes that side's value; changed on both
// sides to the same value takes it; changed on both sides differently is a FieldConflict
// holding both values, and the merged element keeps the local one: nothing is dropped.
// An element deleted on one side and unchanged on the other is deleted; deleted on one
// side and edited on the other is kept as edited, with an "element" conflict recording
// the deletion. Conflicts recorded by earlier merges are merged three-way as a set (one
// a side settled is gone), and a recorded conflict whose field both sides then set to
// the same value is settled by that. A merge that ends deleted keeps no conflicts: with
// no element left there is nothing to choose between.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vault/store/vault_store.h"

namespace idvault::vault {

struct ElementFields {
  std::map<std::string, nlohmann::json> data;  // data member -> value; never ""
  std::optional<std::string> plain;
  // slot -> lowercase hex file_hash of each file in order; an empty slot is absent
  std::map<std::string, std::vector<std::string>> files;
  friend bool operator==(const ElementFields&, const ElementFields&) = default;
};

// The fields of a stored element whose data decrypted to decrypted_data (the data
// object; null for types without data): data and plain as described above, the file
// slots from stored.files (their file_hash), so merged files can be matched back to the
// StoredFile (with its ciphertext and wrapped secret) of whichever side had them.
[[nodiscard]] ElementFields element_fields(const StoredElement& stored,
                                           const nlohmann::json& decrypted_data);
// The data object to encrypt for merged fields: the data members, without the absent
// ones (parse_element_data and to_json write them back as "").
[[nodiscard]] nlohmann::json data_object(const ElementFields& fields);

// One field's value as a conflict holds it: null when absent; a string for data members
// and plain (or the member's JSON value); an array of hex file hashes for slots; and
// for "element" the whole element as fields_json gives it (null: deleted).
[[nodiscard]] nlohmann::json field_value(const ElementFields& fields, std::string_view field);
// Sets one field; null clears it. std::invalid_argument for a name that is no field.
void set_field(ElementFields& fields, std::string_view field, const nlohmann::json& value);
// Every field that has a value, by name, and back.
[[nodiscard]] nlohmann::json fields_json(const ElementFields& fields);
[[nodiscard]] ElementFields fields_from_json(const nlohmann::json& json);

inline constexpr std::string_view kElementField = "element";

struct FieldConflict {
  std::string field;
  nlohmann::json local;   // this device's value (null: cleared, or deleted for "element")
  nlohmann::json remote;  // the other device's value
  friend bool operator==(const FieldConflict&, const FieldConflict&) = default;
};

// An element as a merge sees one side of it: absent or deleted (a tombstone) when
// element is nullopt, with the conflicts recorded beside it.
struct ElementState {
  std::optional<ElementFields> element;
  std::vector<FieldConflict> conflicts;
  friend bool operator==(const ElementState&, const ElementState&) = default;
};
using MergeResult = ElementState;

// parent: the version both sides last agreed on (nullopt: none, or deleted).
[[nodiscard]] MergeResult merge_element(const ElementState& parent, const ElementState& local,
                                        const ElementState& remote);
[[nodiscard]] MergeResult merge_element(const std::optional<ElementFields>& parent,
                                        const std::optional<ElementFields>& local,
                                        const std::optional<ElementFields>& remote);

enum class Take { local, remote };
// Settles the conflicts on field (every conflict when field is nullopt) by taking one
// side's value into merged; returns how many were settled (0: none on that field).
std::size_t resolve(MergeResult& merged, const std::optional<std::string>& field, Take take);

}  // namespace idvault::vault
