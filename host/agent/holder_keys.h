// The holder's keys on the token, and the choice between the two key hierarchies of
// design.md: AES-on-token (value secrets wrapped by a non-extractable AES key, unwrapped
// on the device per use) where the token can do AES key wrap, else asymmetric (a random
// vault key sealed to an RSA key on the card, opened on the card at unlock and held in
// memory until lock). The identity key (EC P-256) signs every share on the token.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pkcs11/object.h"
#include "pkcs11/token.h"
#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"

namespace idvault::agent {

enum class KeyMode { token_aes, asymmetric };

[[nodiscard]] std::string_view to_string(KeyMode mode) noexcept;

struct HolderKeys {
  KeyMode mode = KeyMode::token_aes;
  std::unique_ptr<vault::MasterKey> master_key;
  std::unique_ptr<vault::SigningKey> identity_key;
  std::string identity_key_uri;
  // What the store must record for open_holder_keys to find these keys again.
  std::vector<std::pair<std::string, vault::Bytes>> settings;
  // The objects create_holder_keys made on the token (both halves of each pair), and
  // their CKA_IDs: what to destroy if what they were made for fails (a recovery that
  // does not commit). Empty for keys found (open_holder_keys, read-only cards).
  std::vector<p11::Object> made_objects;
  std::vector<vault::Bytes> made_ids;
};

// On a logged-in token: makes (or, on read-only cards, picks) the keys and returns them
// ready to use, with the settings that say which token and keys the vault belongs to.
// The caller writes those settings (store.put_settings) once everything else that must
// happen with the new keys has happened: at init at once, at recovery after the rewrap.
// force_asymmetric chooses the card mode even where AES would work (tests, and people
// who want one code path for both their tokens).
// before_making, if given, gets every CKA_ID the keys will carry before any is made (a
// recovery records them, so an attempt killed half way can be cleaned up by the next).
[[nodiscard]] HolderKeys create_holder_keys(
    const std::shared_ptr<p11::Token>& token, bool force_asymmetric,
    const std::function<void(const std::vector<vault::Bytes>&)>& before_making = {});

// On a logged-in token: finds the keys the store names and opens the vault key.
// Throws std::runtime_error if the token is not the one the vault was made on.
[[nodiscard]] HolderKeys open_holder_keys(const std::shared_ptr<p11::Token>& token,
                                          vault::VaultStore& store);

// Destroys what create_holder_keys made. Never throws: it runs after another failure,
// whose error is the one to report.
void destroy_made_keys(HolderKeys& keys) noexcept;

// Destroys every object on the token with one of these CKA_IDs (keys an earlier attempt
// made and recorded before it was killed). Never throws.
void destroy_keys_with_ids(const std::shared_ptr<p11::Token>& token,
                           const std::vector<vault::Bytes>& ids) noexcept;

// Whether the store holds a vault (init ran to the end).
[[nodiscard]] bool vault_initialised(vault::VaultStore& store);

}  // namespace idvault::agent
