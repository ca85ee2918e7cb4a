#include "vault/account/vault_key.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "pkcs11/error.h"
#include "pkcs11/public_key.h"
#include "pkcs11/token.h"
#include "vault/keys/token_keys.h"

namespace idvault::vault {

namespace {

// Only a session object: a VK written to the token would outlive the lock, the idle
// time-out and the vault's own removal.
constexpr const char* kSessionLabel = "idvault vault key (session)";
constexpr std::size_t kVaultKeyBytes = 32;

openssl::PKey slot_public_key(ByteView spki_der) {
  const unsigned char* cursor = spki_der.data();
  openssl::PKey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(spki_der.size())));
  if (!key || cursor != spki_der.data() + spki_der.size()) {
    ERR_clear_error();
    throw FormatError("slot_key", "not a DER SubjectPublicKeyInfo");
  }
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) throw FormatError("slot_key", "not an RSA key");
  if (EVP_PKEY_get_bits(key.get()) < 2048) throw FormatError("slot_key", "RSA key under 2048 bits");
  return key;
}

}  // namespace

// ---- TokenVaultKey -----------------------------------------------------------------------

TokenVaultKey::TokenVaultKey(p11::SessionKey owner)
    : owner_(std::move(owner)), key_(owner_.object()) {}

TokenVaultKey TokenVaultKey::generate(const std::shared_ptr<p11::Token>& token) {
  return TokenVaultKey(p11::generate_session_aes256_key(token, kSessionLabel));
}

TokenVaultKey TokenVaultKey::open_slot(const p11::RsaPrivateKey& slot_key, ByteView sealed) {
  try {
    return TokenVaultKey(p11::unwrap_session_aes256_key(slot_key, sealed, kSessionLabel));
  } catch (const p11::Pkcs11Error& e) {
    if (is_about_the_token(e)) throw;
    throw SlotError();
  }
}

Bytes TokenVaultKey::wrap(const SecretBytes& secret) const {
  return key_.wrap_secret(secret);
}

SecretBytes TokenVaultKey::unwrap(ByteView wrapped) const {
  try {
    return key_.unwrap_secret(wrapped);
  } catch (const p11::Pkcs11Error& e) {
    if (is_about_the_token(e)) throw;
    throw DecryptError();
  }
}

Bytes TokenVaultKey::seal_to(ByteView slot_public_key_spki_der) const {
  (void)slot_public_key(slot_public_key_spki_der);  // the same refusals as the memory form
  return p11::wrap_key_rsa_oaep_sha1(owner_.object(), slot_public_key_spki_der);
}

// ---- MemoryVaultKey ----------------------------------------------------------------------

MemoryVaultKey MemoryVaultKey::generate() {
  return MemoryVaultKey(SoftwareMasterKey::generate());
}

MemoryVaultKey MemoryVaultKey::open_slot(const ServiceKey& slot_key, ByteView sealed) {
  SecretBytes key;
  try {
    key = slot_key.decrypt_oaep_sha1(sealed);
  } catch (const DecryptError&) {
    throw SlotError();
  }
  if (key.size() != kVaultKeyBytes) throw SlotError();
  return MemoryVaultKey(SoftwareMasterKey::from_bytes(std::move(key)));
}

Bytes MemoryVaultKey::seal_to(ByteView slot_public_key_spki_der) const {
  return key_.seal_oaep_sha1(slot_public_key(slot_public_key_spki_der).get());
}

// ---- Device slot key ---------------------------------------------------------------------

DeviceSlotKey generate_device_slot_key(const std::shared_ptr<p11::Token>& token,
                                       const p11::KeySpec& spec) {
  p11::KeyPair pair = p11::generate_rsa_key_pair(token, 2048, spec);
  Bytes spki = p11::spki_der(*p11::public_key_of(pair.public_key));
  return DeviceSlotKey{p11::RsaPrivateKey(std::move(pair.private_key)), std::move(spki)};
}

}  // namespace idvault::vault
