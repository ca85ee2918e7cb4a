// The holder's keys on the token, and the choice between the two key hierarchies of
// design.md: AES-on-token (value secrets wrapped by a non-extractable AES key, unwrapped
// on the device per use) where the token can do AES key wrap, else asymmetric (a random
// vault key sealed to an RSA key on the card, opened on the card at unlock and held in
// memory until lock). The identity key (EC P-256) signs every share on the token.
//
// A vault can also be cloud-keyed (design.md, "The cloud"): a vault key VK shared by the
// account's devices takes the master key's place, and the store keeps VK sealed to this
// device's slot key on the token (its own key slot). In token_aes mode VK is opened into
// the token as a session object and the slot key is an RSA-2048 key pair made for it; in
// asymmetric mode VK is opened on the card (C_Decrypt by the card's RSA key, 9D on a
// PIV card) into locked memory.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pkcs11/object.h"
#include "pkcs11/token.h"
#include "vault/account/vault_key.h"
#include "vault/keys/keys.h"
#include "vault/store/vault_store.h"

namespace idvault::agent {

enum class KeyMode { token_aes, asymmetric };

[[nodiscard]] std::string_view to_string(KeyMode mode) noexcept;

struct HolderKeys {
  KeyMode mode = KeyMode::token_aes;
  // What wraps the value secrets: the master key, or VK once the vault is cloud-keyed.
  std::unique_ptr<vault::MasterKey> master_key;
  // Cloud-keyed vaults only (null otherwise): VK, the same object as master_key, able to
  // seal itself to other devices' slots; and this device's slot key (its SPKI DER, what
  // the account log names, and its URI on the token).
  vault::VaultKey* vault_key = nullptr;
  vault::Bytes slot_public_key_spki_der;
  std::string slot_key_uri;
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

// Which key hierarchy create_holder_keys makes. vault_key (every new vault, design.md "The
// cloud"): a vault key VK from the start, sealed to this device's slot key (an RSA-2048
// key made on an AES token; the card's RSA key, 9D on a PIV card, in asymmetric mode),
// so `cloud init` later re-wraps nothing. master_key: the layout vaults had before VK
// came at init (value secrets under the token's master key or a card-sealed key), which
// older stores hold and `cloud init` still converts (adopt_vault_key); tests make one.
enum class Hierarchy { vault_key, master_key };

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
    const std::function<void(const std::vector<vault::Bytes>&)>& before_making = {},
    Hierarchy hierarchy = Hierarchy::vault_key);

// On a logged-in token: finds the keys the store names and opens the vault key (for a
// cloud-keyed vault: VK from its slot in the store, with the slot key). Throws
// std::runtime_error if the token is not the one the vault was made on, vault::SlotError
// if the stored slot does not open with this token's slot key.
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

// Whether the vault is cloud-keyed (its secrets are wrapped by a vault key VK).
[[nodiscard]] bool vault_key_adopted(vault::VaultStore& store);

// The settings that name a vault's keys on its token, in either hierarchy (a join in
// progress included): what a recovery onto a new token, which makes keys of its own,
// removes unless its new keys write them again.
[[nodiscard]] std::vector<std::string> key_setting_names();

// Makes the vault of `keys` (open on this logged-in token) cloud-keyed: a slot key for this
// device (made on the token in token_aes mode; the card's RSA key in asymmetric mode), a
// new VK (on the token / in memory), VK sealed to the slot key and opened again from that
// slot (so what unlock will do has worked once), every value secret re-wrapped from the
// master key to VK and the settings written, in one transaction. Then, in token_aes mode
// only, the old master key is destroyed on the token (a card's key never is). On success
// keys holds VK and the slot key; on failure nothing in the store changed, keys is as it
// was and the slot key made for it is destroyed. Returns how many secrets were moved.
// Throws std::runtime_error if the vault is already cloud-keyed.
std::size_t adopt_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                            HolderKeys& keys);

// rotate_vault_key found the slot still holding the current VK (the rotation is not
// finished on the server yet): nothing changed.
class VaultKeyUnchanged : public std::runtime_error {
 public:
  VaultKeyUnchanged() : std::runtime_error("the key slot still holds the current vault key") {}
};

// A key rotation (a device revoked: design.md, "The cloud"). A new VK, made on the token
// (token_aes) or in memory (asymmetric), for sealing to every remaining slot before the
// vault moves to it.
[[nodiscard]] std::unique_ptr<vault::VaultKey> generate_vault_key(
    const std::shared_ptr<p11::Token>& token, KeyMode mode);

// Moves the cloud-keyed vault of keys to the VK sealed in sealed_own_slot (sealed to this
// device's slot key, by this device or the one that rotated): opens it with the slot
// key, re-wraps every value secret from the current VK, and writes the new slot with
// the settings settings_for makes from the new VK (what else must move with it), in one
// transaction. keys then holds the new VK. Returns how many secrets moved. Throws
// VaultKeyUnchanged when the slot holds the current VK, vault::SlotError when it does
// not open, std::runtime_error for a vault that is not cloud-keyed; nothing changed then.
using SettingsFor = std::function<std::vector<std::pair<std::string, vault::Bytes>>(
    const vault::MasterKey& new_vault_key)>;
std::size_t rotate_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                             HolderKeys& keys, vault::ByteView sealed_own_slot,
                             const SettingsFor& settings_for);

// A device joining an account, in two steps. First, on a logged-in token whose store holds
// no vault: makes the device's identity key and slot key (or picks a read-only card's) and
// records them in the store, which stays uninitialised until the join completes. Called
// again for the same token, it returns the keys it made the first time. What to send in
// the join request: the two public keys.
struct JoiningDevice {
  KeyMode mode = KeyMode::token_aes;
  vault::Bytes identity_key_spki_der;
  vault::Bytes slot_public_key_spki_der;
};
[[nodiscard]] JoiningDevice prepare_join(const std::shared_ptr<p11::Token>& token,
                                         vault::VaultStore& store, bool force_asymmetric);

// Second: sealed is VK sealed to this device's slot key by an enrolled device. Opens it
// (vault::SlotError when it does not), lets accept refuse it (by throwing: a VK the
// account's devices do not vouch for, vault_key_check.h), records the slot and the
// vault's mode in one transaction, and returns the keys, open. Throws std::runtime_error
// if the store holds a vault or elements, or prepare_join did not run for this token.
// Nothing is written when it throws.
using AcceptVaultKey = std::function<void(const vault::MasterKey& vault_key)>;
[[nodiscard]] HolderKeys complete_join(const std::shared_ptr<p11::Token>& token,
                                       vault::VaultStore& store, vault::ByteView sealed,
                                       const AcceptVaultKey& accept = {});

}  // namespace idvault::agent
