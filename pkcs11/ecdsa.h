// ECDSA on the token. Tokens (SoftHSM included) offer only raw CKM_ECDSA, so the hash
// is computed on the host.
#pragma once

#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"

namespace idvault::p11 {

struct EcdsaSignature {
  Bytes raw;  // r || s, each the curve's field size (64 bytes on P-256): JOSE/ES256 form
  Bytes der;  // ECDSA-Sig-Value SEQUENCE { r, s }: what OpenSSL and X.509 verify
};

class EcPrivateKey {
 public:
  // Throws BadArgument unless key is an EC private key.
  explicit EcPrivateKey(Object key);

  // SHA-256(message) on the host, then CKM_ECDSA on the token.
  [[nodiscard]] EcdsaSignature sign_sha256(ByteView message) const;
  // CKM_ECDSA over a digest the caller computed.
  [[nodiscard]] EcdsaSignature sign_digest(ByteView digest) const;

  [[nodiscard]] const Object& object() const noexcept { return key_; }

 private:
  Object key_;
};

// r || s  ->  DER, through OpenSSL's ECDSA_SIG.
[[nodiscard]] Bytes ecdsa_raw_to_der(ByteView raw);

}  // namespace idvault::p11
