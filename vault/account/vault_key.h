// The vault key VK of a cloud account (design.md, "The cloud"): one random AES-256 key
// shared by the account's devices, taking the master key's place. It wraps value secrets
// and item secrets with AES key wrap with padding (RFC 5649, CKM_AES_KEY_WRAP_PAD), the
// format the master key writes today, so what one device wraps another opens, and a
// secret wrapped by either form below opens under the other.
//
// Each device holds VK in a key slot: VK sealed with RSA-OAEP (SHA-1, MGF1-SHA-1) to an
// RSA-2048 slot key on that device's token. Two forms of the opened VK:
//  - TokenVaultKey (AES tokens: SoftHSM2, HSMs): the slot is opened with C_UnwrapKey on
//    the token, and VK lives there as a session object, sensitive but extractable (it
//    must be sealed to other devices' slots), for as long as the TokenVaultKey.
//  - MemoryVaultKey (PIV-like tokens without AES): the slot is opened with C_Decrypt on
//    the token, and VK is held in locked memory, wiped when it goes; KWP in software.
#pragma once

#include <memory>
#include <string>

#include "pkcs11/aes.h"
#include "pkcs11/keygen.h"
#include "pkcs11/rsa.h"
#include "pkcs11/session_key.h"
#include "vault/keys/keys.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"

namespace idvault::p11 {
class Token;
}

namespace idvault::vault {

// A key slot did not open: it was sealed to another slot key, altered, or does not hold
// an AES-256 key. One message for every cause, so probing slots teaches nothing.
class SlotError : public DecryptError {
 public:
  SlotError()
      : DecryptError(
            "the key slot does not open with this device's slot key "
            "(sealed to another key, or altered)") {}
};

// VK in either form: a MasterKey (wrap, unwrap) that can also seal itself to a slot.
class VaultKey : public MasterKey {
 public:
  // VK sealed with RSA-OAEP (SHA-1, MGF1-SHA-1) to an RSA public key of at least 2048
  // bits given as SubjectPublicKeyInfo DER: the bytes a key slot holds. Throws
  // FormatError("slot_key", ...) for a key that is not one.
  [[nodiscard]] virtual Bytes seal_to(ByteView slot_public_key_spki_der) const = 0;
  ~VaultKey() override = default;

 protected:  // moved only as the key it is, never sliced or copied: one VK, one holder
  VaultKey() = default;
  VaultKey(const VaultKey&) = delete;
  VaultKey(VaultKey&&) = default;
  VaultKey& operator=(const VaultKey&) = delete;
  VaultKey& operator=(VaultKey&&) = delete;
};

// VK on an AES token, as a session object.
class TokenVaultKey final : public VaultKey {
 public:
  // A new VK, made on the token (C_GenerateKey).
  [[nodiscard]] static TokenVaultKey generate(const std::shared_ptr<p11::Token>& token);
  // Opens a slot sealed to slot_key, a private key on this token (C_UnwrapKey): VK never
  // leaves the token. Throws SlotError for a slot that does not open with this key;
  // TokenGone, relogin-class errors and UnsupportedMechanism propagate as Pkcs11Error.
  [[nodiscard]] static TokenVaultKey open_slot(const p11::RsaPrivateKey& slot_key, ByteView sealed);

  // CKM_AES_KEY_WRAP_PAD on the token. Secrets must be a multiple of 8 bytes (value and
  // item secrets are 32): see p11::AesKey::wrap_secret.
  [[nodiscard]] Bytes wrap(const SecretBytes& secret) const override;
  // DecryptError when wrapped was altered or made under another key.
  [[nodiscard]] SecretBytes unwrap(ByteView wrapped) const override;
  // C_WrapKey with RSA-OAEP under the slot key, imported for the call.
  [[nodiscard]] Bytes seal_to(ByteView slot_public_key_spki_der) const override;

  // The session object (what tests check: sensitive, not on the token). Valid while this
  // TokenVaultKey lives.
  [[nodiscard]] const p11::Object& object() const noexcept { return owner_.object(); }

 private:
  explicit TokenVaultKey(p11::SessionKey owner);
  p11::SessionKey owner_;
  p11::AesKey key_;
};

// VK in locked process memory.
class MemoryVaultKey final : public VaultKey {
 public:
  // A new VK from OpenSSL's generator (RAND_bytes).
  [[nodiscard]] static MemoryVaultKey generate();
  // Opens a slot with slot_key (on a PIV card: C_Decrypt by the 9D key; any RSA-OAEP
  // SHA-1 decryptor). Throws SlotError for a slot that does not open with this key or
  // does not hold 32 bytes; Pkcs11Error about the token propagates.
  [[nodiscard]] static MemoryVaultKey open_slot(const ServiceKey& slot_key, ByteView sealed);

  [[nodiscard]] Bytes wrap(const SecretBytes& secret) const override { return key_.wrap(secret); }
  [[nodiscard]] SecretBytes unwrap(ByteView wrapped) const override { return key_.unwrap(wrapped); }
  [[nodiscard]] Bytes seal_to(ByteView slot_public_key_spki_der) const override;

  // False when the system refused to lock the key's pages (RLIMIT_MEMLOCK).
  [[nodiscard]] bool locked_in_memory() const noexcept { return key_.locked_in_memory(); }

 private:
  explicit MemoryVaultKey(SoftwareMasterKey key) : key_(std::move(key)) {}
  SoftwareMasterKey key_;
};

// A device's RSA-2048 slot key pair, made on its token: the private half sensitive and
// never extractable, able to decrypt (C_Decrypt) and unwrap (C_UnwrapKey) a slot.
struct DeviceSlotKey {
  p11::RsaPrivateKey private_key;
  Bytes public_key_spki_der;  // what the account log's "slot_key" names
};
[[nodiscard]] DeviceSlotKey generate_device_slot_key(const std::shared_ptr<p11::Token>& token,
                                                     const p11::KeySpec& spec);

}  // namespace idvault::vault
