#include "host/agent/holder_keys.h"

#include <openssl/rand.h>

#include <functional>
#include <stdexcept>

#include "pkcs11/error.h"
#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/uri.h"
#include "vault/keys/rsa_oaep.h"
#include "vault/keys/software_keys.h"
#include "vault/keys/token_keys.h"
#include "vault/store/holder_vault.h"

namespace idvault::agent {
namespace {

constexpr const char* kMasterLabel = "idvault-master";
constexpr const char* kIdentityLabel = "idvault-identity";
constexpr const char* kVaultKeyLabel = "idvault-vault-key";
constexpr const char* kSlotKeyLabel = "idvault-slot";

// The settings of a cloud-keyed vault.
constexpr const char* kKeyHierarchy = "key_hierarchy";  // "vault_key"
constexpr const char* kVaultKeyHierarchy = "vault_key";
constexpr const char* kSlotKeyUri = "slot_key_uri";      // this device's slot key
constexpr const char* kVaultKeySlot = "vault_key_slot";  // VK sealed to it
// The master key VK replaced, named in the same transaction that stops using it, until
// it is destroyed on the token: a process killed in between leaves it to the next unlock.
constexpr const char* kRetiredMasterKeyUri = "retired_master_key_uri";
// A join prepared but not yet approved: the mode the vault will have.
constexpr const char* kJoinMode = "join_mode";

// A fresh CKA_ID pairs the halves of each key we make and tells our keys apart from
// anything else on the token with the same label.
vault::Bytes fresh_key_id() {
  vault::Bytes id(8);
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
    throw std::runtime_error("no randomness for a key id");
  return id;
}

// The host's CSPRNG, not the token's: many cards (PIV among them) have no GET CHALLENGE.
SecretBytes fresh_vault_key() {
  SecretBytes key(32);
  if (RAND_bytes(key.reveal_mutable().data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("no randomness for the vault key");
  }
  return key;
}

vault::Bytes text_bytes(std::string_view text) {
  return vault::Bytes(text.begin(), text.end());
}

std::string setting_text(vault::VaultStore& store, const std::string& name) {
  auto value = store.setting(name);
  if (!value) throw std::runtime_error("vault store is missing its '" + name + "' setting");
  return std::string(value->begin(), value->end());
}

// Read-only cards (PIV through OpenSC) cannot make keys: use the first one of the
// class and type that can do the job, as a card comes personalised.
p11::Object pick_existing_key(const std::shared_ptr<p11::Token>& token, CK_KEY_TYPE key_type,
                              CK_ATTRIBUTE_TYPE usage, const char* purpose) {
  CK_OBJECT_CLASS object_class = CKO_PRIVATE_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE search[] = {
      {CKA_CLASS, &object_class, sizeof(object_class)},
      {CKA_KEY_TYPE, &key_type, sizeof(key_type)},
      {usage, &yes, sizeof(yes)},
  };
  auto keys = p11::find_objects(token, search);
  // A key that wants the PIN again before every use (PIV slot 9C) would make every share
  // ask for it; prefer one that does not.
  for (auto& key : keys) {
    auto always = key.try_attribute(CKA_ALWAYS_AUTHENTICATE);
    if (!always || always->empty() || (*always)[0] == CK_FALSE) return std::move(key);
  }
  throw std::runtime_error(std::string("the token has no key for ") + purpose +
                           " and cannot make one");
}

KeyMode choose_mode(const p11::Capabilities& caps, bool force_asymmetric) {
  return (!force_asymmetric && !caps.read_only && caps.aes_keygen && caps.aes_key_wrap_pad &&
          caps.unwrap)
             ? KeyMode::token_aes
             : KeyMode::asymmetric;
}

KeyMode mode_from_text(const std::string& text) {
  return text == "token_aes" ? KeyMode::token_aes : KeyMode::asymmetric;
}

// Each object made is remembered in keys at once, so a failure after it can destroy it.
p11::Object remember_made_pair(HolderKeys& keys, p11::KeyPair pair, const vault::Bytes& id) {
  keys.made_ids.push_back(id);
  keys.made_objects.push_back(std::move(pair.public_key));
  keys.made_objects.push_back(pair.private_key);
  return std::move(pair.private_key);
}

// The identity key: made where the token can, else the card's own EC key.
p11::Object identity_key_for(const std::shared_ptr<p11::Token>& token,
                             const p11::Capabilities& caps, const vault::Bytes& id,
                             HolderKeys& keys) {
  if (!caps.read_only && caps.ec_keygen) {
    return remember_made_pair(
        keys, p11::generate_ec_p256_key_pair(token, p11::KeySpec{kIdentityLabel, id}), id);
  }
  return pick_existing_key(token, CKK_EC, CKA_SIGN, "signing shares");
}

// The card's RSA key of the asymmetric mode (opens the vault key, and VK's slot): made
// where the token can, else the card's own (9D on a PIV card).
p11::Object card_rsa_key_for(const std::shared_ptr<p11::Token>& token,
                             const p11::Capabilities& caps, const vault::Bytes& id,
                             HolderKeys& keys) {
  if (!caps.read_only && caps.rsa_keygen) {
    return remember_made_pair(
        keys, p11::generate_rsa_key_pair(token, 2048, p11::KeySpec{kVaultKeyLabel, id}), id);
  }
  return pick_existing_key(token, CKK_RSA, CKA_DECRYPT, "opening the vault key");
}

// A slot key made for VK on an AES token (token_aes mode).
p11::Object made_slot_key(const std::shared_ptr<p11::Token>& token, const vault::Bytes& id,
                          HolderKeys& keys) {
  vault::DeviceSlotKey slot = vault::generate_device_slot_key(token, {kSlotKeyLabel, id});
  keys.made_ids.push_back(id);
  keys.made_objects.push_back(p11::find_public_key_for(slot.private_key.object()));
  keys.made_objects.push_back(slot.private_key.object());
  return slot.private_key.object();
}

// Opens VK from a slot with the slot key: into the token (token_aes) or on the card into
// locked memory (asymmetric). vault::SlotError when the slot does not open with it.
std::unique_ptr<vault::VaultKey> open_vault_key_slot(KeyMode mode, const p11::Object& slot_key,
                                                     vault::ByteView sealed) {
  if (mode == KeyMode::token_aes) {
    return std::make_unique<vault::TokenVaultKey>(
        vault::TokenVaultKey::open_slot(p11::RsaPrivateKey(slot_key), sealed));
  }
  return std::make_unique<vault::MemoryVaultKey>(
      vault::MemoryVaultKey::open_slot(vault::TokenServiceKey(slot_key), sealed));
}

// What the keys of a cloud-keyed vault say about the slot key (read before anything is
// committed: hold_vault_key does not throw).
struct SlotKeyFacts {
  std::string uri;
  vault::Bytes spki_der;
};
SlotKeyFacts facts_of(const p11::Object& slot_key) {
  return {slot_key.uri(), p11::spki_der(*p11::public_key_of(slot_key))};
}

void hold_vault_key(HolderKeys& keys, std::unique_ptr<vault::VaultKey> vault_key,
                    SlotKeyFacts slot) noexcept {
  keys.slot_key_uri = std::move(slot.uri);
  keys.slot_public_key_spki_der = std::move(slot.spki_der);
  keys.vault_key = vault_key.get();
  keys.master_key = std::move(vault_key);
}

// VK from the slot the store holds, with the slot key it names.
void open_stored_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                           HolderKeys& keys) {
  auto sealed = store.setting(kVaultKeySlot);
  if (!sealed) throw std::runtime_error("vault store is missing its vault key slot");
  p11::Object slot_key =
      p11::find_object(token, p11::Uri::parse(setting_text(store, kSlotKeyUri)), CKO_PRIVATE_KEY);
  hold_vault_key(keys, open_vault_key_slot(keys.mode, slot_key, *sealed), facts_of(slot_key));
}

// Destroys the master key a vault key replaced, once the store no longer names it for
// anything else. Never throws: a key that cannot be destroyed now is tried at the next
// unlock.
void destroy_retired_master_key(const std::shared_ptr<p11::Token>& token,
                                vault::VaultStore& store) noexcept {
  try {
    auto uri = store.setting(kRetiredMasterKeyUri);
    if (!uri) return;
    try {
      p11::find_object(token, p11::Uri::parse(std::string(uri->begin(), uri->end())),
                       CKO_SECRET_KEY)
          .destroy();
    } catch (const p11::ObjectNotFound&) {
      // destroyed already, by an attempt killed before it could say so
    }
    store.remove_setting(kRetiredMasterKeyUri);
  } catch (...) {
    // the token went, or would not destroy it: the next unlock tries again
  }
}

}  // namespace

std::string_view to_string(KeyMode mode) noexcept {
  return mode == KeyMode::token_aes ? "token_aes" : "asymmetric";
}

bool vault_initialised(vault::VaultStore& store) {
  return store.setting("mode").has_value();
}

HolderKeys create_holder_keys(
    const std::shared_ptr<p11::Token>& token, bool force_asymmetric,
    const std::function<void(const std::vector<vault::Bytes>&)>& before_making,
    Hierarchy hierarchy) {
  const p11::Capabilities caps = token->capabilities();
  // Every CKA_ID is chosen, and handed to the caller, before the first object is made: a
  // process killed while the token makes a key leaves nothing the caller could not name.
  const vault::Bytes identity_id = fresh_key_id();
  const vault::Bytes vault_key_id = fresh_key_id();
  if (before_making) before_making({identity_id, vault_key_id});
  HolderKeys keys;
  keys.mode = choose_mode(caps, force_asymmetric);
  auto& settings = keys.settings;

  p11::Object identity = identity_key_for(token, caps, identity_id, keys);
  keys.identity_key_uri = identity.uri();
  settings.emplace_back("identity_key_uri", text_bytes(keys.identity_key_uri));
  keys.identity_key = std::make_unique<vault::TokenSigningKey>(std::move(identity));

  if (hierarchy == Hierarchy::vault_key) {
    // The vault key slot, as a device joining an account gets it: VK sealed to this
    // device's slot key and opened again from that slot (what every unlock will do has
    // worked once before anything is written).
    p11::Object slot_key = keys.mode == KeyMode::token_aes
                               ? made_slot_key(token, vault_key_id, keys)
                               : card_rsa_key_for(token, caps, vault_key_id, keys);
    SlotKeyFacts slot = facts_of(slot_key);
    vault::Bytes sealed = generate_vault_key(token, keys.mode)->seal_to(slot.spki_der);
    std::unique_ptr<vault::VaultKey> vault_key = open_vault_key_slot(keys.mode, slot_key, sealed);
    settings.emplace_back(kSlotKeyUri, text_bytes(slot.uri));
    settings.emplace_back(kVaultKeySlot, std::move(sealed));
    settings.emplace_back(kKeyHierarchy, text_bytes(kVaultKeyHierarchy));
    hold_vault_key(keys, std::move(vault_key), std::move(slot));
  } else if (keys.mode == KeyMode::token_aes) {
    p11::Object master = p11::generate_aes256_key(token, {kMasterLabel, vault_key_id});
    keys.made_ids.push_back(vault_key_id);
    keys.made_objects.push_back(master);
    settings.emplace_back("master_key_uri", text_bytes(master.uri()));
    keys.master_key = std::make_unique<vault::TokenMasterKey>(std::move(master));
  } else {
    p11::Object card_key = card_rsa_key_for(token, caps, vault_key_id, keys);
    settings.emplace_back("card_key_uri", text_bytes(card_key.uri()));
    vault::TokenServiceKey opener(std::move(card_key));
    SecretBytes vault_key = fresh_vault_key();
    settings.emplace_back("sealed_vault_key", vault::rsa_oaep_sha1_encrypt(opener.public_key_pem(),
                                                                           vault_key.reveal()));
    keys.master_key = std::make_unique<vault::SoftwareMasterKey>(
        vault::SoftwareMasterKey::from_bytes(std::move(vault_key)));
  }
  settings.emplace_back("token_serial", text_bytes(token->serial()));
  settings.emplace_back("token_label", text_bytes(token->label()));
  // Last, and written in one transaction: a vault is initialised only once all of it is.
  settings.emplace_back("mode", text_bytes(to_string(keys.mode)));
  return keys;
}

void destroy_made_keys(HolderKeys& keys) noexcept {
  for (p11::Object& object : keys.made_objects) {
    try {
      object.destroy();
    } catch (...) {
      // gone with the token, or never fully made: nothing more to do here
    }
  }
  keys.made_objects.clear();
  keys.made_ids.clear();
}

void destroy_keys_with_ids(const std::shared_ptr<p11::Token>& token,
                           const std::vector<vault::Bytes>& ids) noexcept {
  for (const vault::Bytes& id : ids) {
    try {
      vault::Bytes value = id;
      CK_ATTRIBUTE search[] = {{CKA_ID, value.data(), static_cast<CK_ULONG>(value.size())}};
      // One object that cannot be destroyed must not keep the others with this id.
      for (p11::Object& object : p11::find_objects(token, search)) {
        try {
          object.destroy();
        } catch (...) {
          // as above: a leftover that cannot be removed now stays an unused object
        }
      }
    } catch (...) {
      // the search itself failed (token gone): what it would have found stays unused
    }
  }
}

HolderKeys open_holder_keys(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store) {
  if (setting_text(store, "token_serial") != token->serial()) {
    throw std::runtime_error("this vault belongs to token '" + setting_text(store, "token_label") +
                             "' (serial " + setting_text(store, "token_serial") + "), not to '" +
                             token->label() + "'");
  }
  HolderKeys keys;
  keys.mode = mode_from_text(setting_text(store, "mode"));
  keys.identity_key_uri = setting_text(store, "identity_key_uri");
  keys.identity_key = std::make_unique<vault::TokenSigningKey>(
      vault::TokenSigningKey::from_uri(token, keys.identity_key_uri));
  if (vault_key_adopted(store)) {
    open_stored_vault_key(token, store, keys);
    destroy_retired_master_key(token, store);
  } else if (keys.mode == KeyMode::token_aes) {
    keys.master_key = std::make_unique<vault::TokenMasterKey>(
        vault::TokenMasterKey::from_uri(token, setting_text(store, "master_key_uri")));
  } else {
    auto opener = vault::TokenServiceKey::from_uri(token, setting_text(store, "card_key_uri"));
    auto sealed = store.setting("sealed_vault_key");
    if (!sealed) throw std::runtime_error("vault store is missing its sealed vault key");
    keys.master_key = std::make_unique<vault::SoftwareMasterKey>(
        vault::SoftwareMasterKey::from_bytes(opener.decrypt_oaep_sha1(*sealed)));
  }
  return keys;
}

bool vault_key_adopted(vault::VaultStore& store) {
  auto hierarchy = store.setting(kKeyHierarchy);
  return hierarchy && std::string(hierarchy->begin(), hierarchy->end()) == kVaultKeyHierarchy;
}

std::vector<std::string> key_setting_names() {
  return {kKeyHierarchy, kSlotKeyUri,      kVaultKeySlot,  kRetiredMasterKeyUri,
          kJoinMode,     "master_key_uri", "card_key_uri", "sealed_vault_key"};
}

std::size_t adopt_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                            HolderKeys& keys) {
  if (keys.vault_key != nullptr || vault_key_adopted(store))
    throw std::runtime_error("this vault already has a vault key");
  if (!keys.master_key) throw std::runtime_error("the vault is not open");
  // What the slot key costs if anything below fails: a key pair made for it (token_aes).
  HolderKeys made;
  try {
    std::vector<std::pair<std::string, vault::Bytes>> settings;
    std::vector<std::string> removed;
    std::unique_ptr<vault::VaultKey> vault_key;
    p11::Object slot_key = [&] {
      if (keys.mode == KeyMode::token_aes) return made_slot_key(token, fresh_key_id(), made);
      // The card's RSA key (9D on a PIV card) already opens the vault; it opens VK now.
      return p11::find_object(token, p11::Uri::parse(setting_text(store, "card_key_uri")),
                              CKO_PRIVATE_KEY);
    }();
    SlotKeyFacts slot = facts_of(slot_key);
    vault::Bytes sealed;
    if (keys.mode == KeyMode::token_aes) {
      sealed = vault::TokenVaultKey::generate(token).seal_to(slot.spki_der);
      settings.emplace_back(kRetiredMasterKeyUri,
                            text_bytes(setting_text(store, "master_key_uri")));
      removed = {"master_key_uri"};
    } else {
      sealed = vault::MemoryVaultKey::generate().seal_to(slot.spki_der);
      removed = {"card_key_uri", "sealed_vault_key"};
    }
    // The VK used from here on is the one opened from the slot just sealed, as every
    // unlock will open it: a slot that would not open fails now, before anything moved.
    vault_key = open_vault_key_slot(keys.mode, slot_key, sealed);
    settings.emplace_back(kSlotKeyUri, text_bytes(slot.uri));
    settings.emplace_back(kVaultKeySlot, std::move(sealed));
    settings.emplace_back(kKeyHierarchy, text_bytes(kVaultKeyHierarchy));
    const std::size_t moved = vault::rewrap_secrets(store, *keys.master_key, *vault_key,
                                                    std::move(settings), std::move(removed));
    // Committed: the slot key is the vault's now, and the old master key is named only
    // as retired. Nothing from here on throws.
    made.made_objects.clear();
    made.made_ids.clear();
    hold_vault_key(keys, std::move(vault_key), std::move(slot));
    destroy_retired_master_key(token, store);
    return moved;
  } catch (...) {
    destroy_made_keys(made);
    throw;
  }
}

std::unique_ptr<vault::VaultKey> generate_vault_key(const std::shared_ptr<p11::Token>& token,
                                                    KeyMode mode) {
  if (mode == KeyMode::token_aes)
    return std::make_unique<vault::TokenVaultKey>(vault::TokenVaultKey::generate(token));
  return std::make_unique<vault::MemoryVaultKey>(vault::MemoryVaultKey::generate());
}

std::size_t rotate_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                             HolderKeys& keys, vault::ByteView sealed_own_slot,
                             const SettingsFor& settings_for) {
  if (keys.vault_key == nullptr) throw std::runtime_error("this vault has no vault key to rotate");
  p11::Object slot_key =
      p11::find_object(token, p11::Uri::parse(setting_text(store, kSlotKeyUri)), CKO_PRIVATE_KEY);
  // The VK used from here on is the one the slot opens to, as every unlock will open it.
  std::unique_ptr<vault::VaultKey> vault_key =
      open_vault_key_slot(keys.mode, slot_key, sealed_own_slot);
  // Key wrap with padding is deterministic: the same probe wrapped alike is the same key,
  // a slot not yet sealed again by the device that rotated.
  const SecretBytes probe(std::vector<std::uint8_t>(32, 0x5a));
  if (vault_key->wrap(probe) == keys.vault_key->wrap(probe)) throw VaultKeyUnchanged();
  std::vector<std::pair<std::string, vault::Bytes>> settings = settings_for(*vault_key);
  settings.emplace_back(kVaultKeySlot,
                        vault::Bytes(sealed_own_slot.begin(), sealed_own_slot.end()));
  const std::size_t moved =
      vault::rewrap_secrets(store, *keys.vault_key, *vault_key, std::move(settings), {});
  hold_vault_key(keys, std::move(vault_key), facts_of(slot_key));
  return moved;
}

JoiningDevice prepare_join(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                           bool force_asymmetric) {
  if (vault_initialised(store))
    throw std::runtime_error("this store already holds a vault: a device joins with none");
  const auto describe = [&](KeyMode mode) {
    JoiningDevice device;
    device.mode = mode;
    device.identity_key_spki_der =
        vault::TokenSigningKey::from_uri(token, setting_text(store, "identity_key_uri"))
            .public_key_spki_der();
    device.slot_public_key_spki_der = p11::spki_der(*p11::public_key_of(p11::find_object(
        token, p11::Uri::parse(setting_text(store, kSlotKeyUri)), CKO_PRIVATE_KEY)));
    return device;
  };
  // The keys of a join prepared earlier on this token (one waiting for approval).
  auto serial = store.setting("token_serial");
  if (store.setting(kJoinMode) && serial &&
      std::string(serial->begin(), serial->end()) == token->serial()) {
    return describe(mode_from_text(setting_text(store, kJoinMode)));
  }
  const p11::Capabilities caps = token->capabilities();
  HolderKeys made;
  made.mode = choose_mode(caps, force_asymmetric);
  try {
    p11::Object identity = identity_key_for(token, caps, fresh_key_id(), made);
    p11::Object slot_key = made.mode == KeyMode::token_aes
                               ? made_slot_key(token, fresh_key_id(), made)
                               : card_rsa_key_for(token, caps, fresh_key_id(), made);
    // One transaction; "mode" is written only when the join completes, so until then the
    // store holds no vault.
    store.put_settings({{"identity_key_uri", text_bytes(identity.uri())},
                        {kSlotKeyUri, text_bytes(slot_key.uri())},
                        {"token_serial", text_bytes(token->serial())},
                        {"token_label", text_bytes(token->label())},
                        {kKeyHierarchy, text_bytes(kVaultKeyHierarchy)},
                        {kJoinMode, text_bytes(to_string(made.mode))}});
  } catch (...) {
    destroy_made_keys(made);
    throw;
  }
  return describe(made.mode);
}

HolderKeys complete_join(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                         vault::ByteView sealed, const AcceptVaultKey& accept) {
  if (vault_initialised(store))
    throw std::runtime_error("this store already holds a vault: a device joins with none");
  if (!store.elements(false).empty())
    throw std::runtime_error("this store holds elements: a device joins with an empty vault");
  auto serial = store.setting("token_serial");
  if (!store.setting(kJoinMode) || !serial ||
      std::string(serial->begin(), serial->end()) != token->serial()) {
    throw std::runtime_error("no join was prepared with token '" + token->label() + "'");
  }
  HolderKeys keys;
  keys.mode = mode_from_text(setting_text(store, kJoinMode));
  keys.identity_key_uri = setting_text(store, "identity_key_uri");
  keys.identity_key = std::make_unique<vault::TokenSigningKey>(
      vault::TokenSigningKey::from_uri(token, keys.identity_key_uri));
  p11::Object slot_key =
      p11::find_object(token, p11::Uri::parse(setting_text(store, kSlotKeyUri)), CKO_PRIVATE_KEY);
  // Opened before anything is written: a slot that does not open leaves the join pending.
  hold_vault_key(keys, open_vault_key_slot(keys.mode, slot_key, sealed), facts_of(slot_key));
  if (accept) accept(*keys.vault_key);
  vault::VaultStore::SecretsChange change;
  change.settings = {{kVaultKeySlot, vault::Bytes(sealed.begin(), sealed.end())},
                     {"mode", text_bytes(to_string(keys.mode))}};
  change.removed_settings = {kJoinMode};
  store.replace_secrets(change);
  return keys;
}

}  // namespace idvault::agent
