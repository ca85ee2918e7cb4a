#include "host/agent/holder_keys.h"

#include <openssl/rand.h>

#include <functional>
#include <stdexcept>

#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "vault/keys/rsa_oaep.h"
#include "vault/keys/software_keys.h"
#include "vault/keys/token_keys.h"

namespace idvault::agent {
namespace {

constexpr const char* kMasterLabel = "idvault-master";
constexpr const char* kIdentityLabel = "idvault-identity";
constexpr const char* kVaultKeyLabel = "idvault-vault-key";

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

}  // namespace

std::string_view to_string(KeyMode mode) noexcept {
  return mode == KeyMode::token_aes ? "token_aes" : "asymmetric";
}

bool vault_initialised(vault::VaultStore& store) {
  return store.setting("mode").has_value();
}

HolderKeys create_holder_keys(
    const std::shared_ptr<p11::Token>& token, bool force_asymmetric,
    const std::function<void(const std::vector<vault::Bytes>&)>& before_making) {
  const p11::Capabilities caps = token->capabilities();
  // Every CKA_ID is chosen, and handed to the caller, before the first object is made: a
  // process killed while the token makes a key leaves nothing the caller could not name.
  const vault::Bytes identity_id = fresh_key_id();
  const vault::Bytes vault_key_id = fresh_key_id();
  if (before_making) before_making({identity_id, vault_key_id});
  HolderKeys keys;
  keys.mode = (!force_asymmetric && !caps.read_only && caps.aes_keygen && caps.aes_key_wrap_pad &&
               caps.unwrap)
                  ? KeyMode::token_aes
                  : KeyMode::asymmetric;
  auto& settings = keys.settings;

  // Each object made is remembered at once, so a failure after it can destroy it.
  const auto made_pair = [&keys](p11::KeyPair pair, const vault::Bytes& id) {
    keys.made_ids.push_back(id);
    keys.made_objects.push_back(std::move(pair.public_key));
    keys.made_objects.push_back(pair.private_key);
    return std::move(pair.private_key);
  };
  const auto made_pair_with = [&](auto generate, const char* label, const vault::Bytes& id) {
    return made_pair(generate(token, p11::KeySpec{label, id}), id);
  };
  p11::Object identity = (!caps.read_only && caps.ec_keygen)
                             ? made_pair_with(
                                   [](const auto& t, const p11::KeySpec& spec) {
                                     return p11::generate_ec_p256_key_pair(t, spec);
                                   },
                                   kIdentityLabel, identity_id)
                             : pick_existing_key(token, CKK_EC, CKA_SIGN, "signing shares");
  keys.identity_key_uri = identity.uri();
  settings.emplace_back("identity_key_uri", text_bytes(keys.identity_key_uri));
  keys.identity_key = std::make_unique<vault::TokenSigningKey>(std::move(identity));

  if (keys.mode == KeyMode::token_aes) {
    p11::Object master = p11::generate_aes256_key(token, {kMasterLabel, vault_key_id});
    keys.made_ids.push_back(vault_key_id);
    keys.made_objects.push_back(master);
    settings.emplace_back("master_key_uri", text_bytes(master.uri()));
    keys.master_key = std::make_unique<vault::TokenMasterKey>(std::move(master));
  } else {
    p11::Object card_key =
        (!caps.read_only && caps.rsa_keygen)
            ? made_pair_with(
                  [](const auto& t, const p11::KeySpec& spec) {
                    return p11::generate_rsa_key_pair(t, 2048, spec);
                  },
                  kVaultKeyLabel, vault_key_id)
            : pick_existing_key(token, CKK_RSA, CKA_DECRYPT, "opening the vault key");
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
  keys.mode = setting_text(store, "mode") == "token_aes" ? KeyMode::token_aes : KeyMode::asymmetric;
  keys.identity_key_uri = setting_text(store, "identity_key_uri");
  keys.identity_key = std::make_unique<vault::TokenSigningKey>(
      vault::TokenSigningKey::from_uri(token, keys.identity_key_uri));
  if (keys.mode == KeyMode::token_aes) {
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

}  // namespace idvault::agent
