#include "vault/sync/element_reconcile.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "common/hex.h"
#include "common/openssl_owners.h"
#include "vault/model/element_type.h"
#include "vault/model/errors.h"
#include "vault/wire/value_cipher.h"
#include "vault/wire/value_secret.h"

namespace idvault::vault {
namespace {

// The decrypted data object of a side (null for an element without data).
nlohmann::json decrypted_data(const MasterKey& vk, const StoredElement& element) {
  if (!element.data) return nullptr;
  const std::string where = std::string(to_string(element.type)) + ".data";
  const ValueSecret secret = ValueSecret::from_bytes(vk.unwrap(element.wrapped_data_secret), where);
  ValueDecryptor decryptor;
  const SecretBytes text = decryptor.decrypt(*element.data, element.data_hash, secret);
  try {
    return nlohmann::json::parse(text.reveal_text());
  } catch (const nlohmann::json::exception&) {
    throw FormatError(where, "does not decrypt to JSON");
  }
}

ElementState state_of(const MasterKey& vk, const StoredSide& side) {
  ElementState state;
  state.conflicts = side.conflicts;
  if (side.element)
    state.element = element_fields(*side.element, decrypted_data(vk, *side.element));
  return state;
}

const StoredFile* file_with_hash(const std::string& hash_hex, const StoredSide& a,
                                 const StoredSide& b) {
  for (const StoredSide* side : {&a, &b}) {
    if (!side->element) continue;
    for (const StoredFile& file : side->element->files) {
      if (hex_lower(file.file_hash) == hash_hex) return &file;
    }
  }
  return nullptr;
}

// Our opaque element hash (passport_encryptor.cpp's form: SHA-256 over the value
// hashes), for an element no put made.
Bytes element_hash_of(const StoredElement& element) {
  Bytes hashes = element.data_hash;
  for (const char* slot : {"files", "front_side", "reverse_side", "selfie", "translation"}) {
    for (const StoredFile& file : element.files) {
      if (file.slot == slot)
        hashes.insert(hashes.end(), file.file_hash.begin(), file.file_hash.end());
    }
  }
  std::array<unsigned char, 32> digest{};
  unsigned size = 0;
  openssl::check(
      EVP_Digest(hashes.data(), hashes.size(), digest.data(), &size, openssl::sha256(), nullptr),
      "EVP_Digest");
  return Bytes(digest.begin(), digest.end());
}

StoredElement build(const MasterKey& vk, const ElementFields& fields, const StoredSide& local,
                    const StoredSide& remote, const ElementState& local_state,
                    const ElementState& remote_state) {
  const StoredElement& base = local.element ? *local.element : *remote.element;
  StoredElement out;
  out.type = base.type;
  out.plain = fields.plain;
  out.updated_at = std::max(local.element ? local.element->updated_at : 0,
                            remote.element ? remote.element->updated_at : 0);
  // Data: a side's ciphertext as it is when the merged data is that side's, else new.
  const nlohmann::json data = data_object(fields);
  const auto same_data = [&](const ElementState& state) {
    return state.element && data_object(*state.element) == data;
  };
  if (local.element && local.element->data && same_data(local_state)) {
    out.data = local.element->data;
    out.data_hash = local.element->data_hash;
    out.wrapped_data_secret = local.element->wrapped_data_secret;
  } else if (remote.element && remote.element->data && same_data(remote_state)) {
    out.data = remote.element->data;
    out.data_hash = remote.element->data_hash;
    out.wrapped_data_secret = remote.element->wrapped_data_secret;
  } else if (base.data) {
    const SecretBytes text = SecretBytes::from_string(data.dump());
    ValueSecret secret = ValueSecret::generate();
    EncryptedValue value = encrypt_value(text.reveal(), secret);
    out.data = std::move(value.ciphertext);
    out.data_hash = std::move(value.hash);
    out.wrapped_data_secret = vk.wrap(SecretBytes(secret.reveal()));
  }
  for (const auto& [slot, hashes] : fields.files) {
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      const StoredFile* file = file_with_hash(hashes[i], local, remote);
      if (file == nullptr) {
        throw FormatError(std::string(to_string(base.type)) + "." + slot,
                          "the merge names a file neither side has");
      }
      StoredFile copy = *file;
      copy.slot = slot;
      copy.position = static_cast<int>(i);
      copy.recovery_sealed_secret.clear();
      out.files.push_back(std::move(copy));
    }
  }
  out.element_hash = element_hash_of(out);
  if (local.element && local_state.element == fields)
    out.element_hash = local.element->element_hash;
  if (remote.element && remote_state.element == fields && !(local_state.element == fields))
    out.element_hash = remote.element->element_hash;
  return out;
}

}  // namespace

Reconciled reconcile_element(const MasterKey& vk, const StoredSide& parent, const StoredSide& local,
                             const StoredSide& remote) {
  const ElementState parent_state = state_of(vk, parent);
  const ElementState local_state = state_of(vk, local);
  const ElementState remote_state = state_of(vk, remote);
  MergeResult merged = merge_element(parent_state, local_state, remote_state);
  Reconciled out;
  out.conflicts = merged.conflicts;
  if (merged.element)
    out.element = build(vk, *merged.element, local, remote, local_state, remote_state);
  return out;
}

Reconciled resolve_element(const MasterKey& vk, const StoredSide& local, const StoredSide& other,
                           const std::optional<std::string>& field, Take take,
                           std::size_t& settled) {
  ElementState state = state_of(vk, local);
  const ElementState other_state = state_of(vk, other);
  settled = resolve(state, field, take);
  Reconciled out;
  out.conflicts = state.conflicts;
  if (state.element) {
    // build() needs a side with an element for the type; when local is a tombstone the
    // other side has it.
    out.element = build(vk, *state.element, local.element ? local : other, other,
                        local.element ? state_of(vk, local) : other_state, other_state);
  }
  return out;
}

nlohmann::json conflicts_json(const std::vector<FieldConflict>& conflicts) {
  nlohmann::json list = nlohmann::json::array();
  for (const FieldConflict& conflict : conflicts) {
    list.push_back(
        {{"field", conflict.field}, {"local", conflict.local}, {"remote", conflict.remote}});
  }
  return list;
}

std::vector<FieldConflict> conflicts_from_json(const nlohmann::json& json, bool swap) {
  if (!json.is_array()) throw FormatError("conflicts", "must be an array");
  std::vector<FieldConflict> conflicts;
  for (const auto& entry : json) {
    if (!entry.is_object() || !entry.contains("field") || !entry["field"].is_string() ||
        !entry.contains("local") || !entry.contains("remote") || entry.size() != 3)
      throw FormatError("conflicts", "each must be {\"field\",\"local\",\"remote\"}");
    FieldConflict conflict{entry["field"].get<std::string>(), entry["local"], entry["remote"]};
    if (swap) std::swap(conflict.local, conflict.remote);
    conflicts.push_back(std::move(conflict));
  }
  return conflicts;
}

}  // namespace idvault::vault
