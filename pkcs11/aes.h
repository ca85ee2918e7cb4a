// AES-256 key on the token: wraps and seals small secrets without letting them or the
// key out.
//
// Two ways to protect a 32-byte secret, both tested:
//  - key wrap with padding (RFC 5649, CKM_AES_KEY_WRAP_PAD): the secret is imported as a
//    short-lived session object, wrapped, destroyed; unwrap makes a session object whose
//    value is read once and destroyed. Deterministic, 40 bytes for 32.
//  - AES-GCM (C_Encrypt/C_Decrypt, 12-byte IV from the token, 128-bit tag, AAD): one call
//    each way, and AAD binds the ciphertext to its context. 60 bytes for 32.
#pragma once

#include "common/secret_bytes.h"
#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"

namespace idvault::p11 {

class AesKey {
 public:
  static constexpr std::size_t kGcmIvBytes = 12;
  static constexpr std::size_t kGcmTagBytes = 16;

  // Throws BadArgument unless key is an AES secret key.
  explicit AesKey(Object key);

  // CKM_AES_KEY_WRAP_PAD. Throws UnsupportedMechanism, BadArgument (empty secret, or a
  // length that is not a multiple of 8: SoftHSM 2.6.1 does not strip RFC 5649 padding on
  // unwrap, so such a secret would come back longer).
  [[nodiscard]] Bytes wrap_secret(const SecretBytes& secret) const;
  // Throws AuthenticationFailed when wrapped was altered or made under another key.
  [[nodiscard]] SecretBytes unwrap_secret(ByteView wrapped) const;

  // iv || ciphertext || tag.
  [[nodiscard]] Bytes gcm_encrypt(const SecretBytes& plaintext, ByteView aad = {}) const;
  // Throws AuthenticationFailed for any altered byte, wrong AAD or wrong key (SoftHSM
  // reports these as CKR_GENERAL_ERROR; the code is kept in rv()).
  [[nodiscard]] SecretBytes gcm_decrypt(ByteView sealed, ByteView aad = {}) const;

  [[nodiscard]] const Object& object() const noexcept { return key_; }

 private:
  Object key_;
};

}  // namespace idvault::p11
