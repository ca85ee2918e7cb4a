// Public keys out of the token, as OpenSSL keys and as SubjectPublicKeyInfo (DER/PEM).
// RSA from CKA_MODULUS + CKA_PUBLIC_EXPONENT; EC from CKA_EC_PARAMS + CKA_EC_POINT
// (which SoftHSM, like the standard says, wraps in a DER OCTET STRING).
#pragma once

#include <string>

#include "common/openssl_owners.h"
#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

class Object;

// Accepts a public key object, or a private key object (RSA: read from it; EC: from
// its public half, found by CKA_ID). Throws Pkcs11Error / BadArgument.
[[nodiscard]] openssl::PKey public_key_of(const Object& key);

[[nodiscard]] Bytes spki_der(const EVP_PKEY& key);
[[nodiscard]] std::string spki_pem(const EVP_PKEY& key);  // "-----BEGIN PUBLIC KEY-----..."
// SHA-256 of the SPKI DER, lowercase hex: how keys are shown to people.
[[nodiscard]] std::string spki_fingerprint(const EVP_PKEY& key);

}  // namespace idvault::p11
