// RSA private-key operations on the token.
#pragma once

#include "common/secret_bytes.h"
#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"

namespace idvault::p11 {

enum class OaepHash { sha1, sha256 };

class RsaPrivateKey {
 public:
  // Throws BadArgument unless key is an RSA private key. Reads the modulus size once.
  explicit RsaPrivateKey(Object key);

  // CKM_RSA_PKCS_OAEP with hash and MGF1 over the same hash, no label. The output buffer
  // is sized by the modulus, so one C_Decrypt call suffices. Throws
  // UnsupportedMechanism when the token lacks OAEP or rejects the hash (SoftHSM 2.6.1
  // and SHA-256), TokenGone, or Pkcs11Error (e.g. CKR_ENCRYPTED_DATA_INVALID for a
  // ciphertext made for another key).
  [[nodiscard]] SecretBytes decrypt_oaep(ByteView ciphertext, OaepHash hash = OaepHash::sha1) const;

  // RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt over message: CKM_SHA256_RSA_PKCS_PSS
  // where offered, else CKM_RSA_PKCS_PSS over a host-computed hash.
  [[nodiscard]] Bytes sign_pss_sha256(ByteView message) const;

  [[nodiscard]] std::size_t modulus_bytes() const noexcept { return modulus_bytes_; }
  [[nodiscard]] const Object& object() const noexcept { return key_; }

 private:
  Object key_;
  std::size_t modulus_bytes_;
};

}  // namespace idvault::p11
