// What a token can do, probed with C_GetMechanismInfo and the token flags, so callers
// (the agent choosing AES-on-token or asymmetric mode) ask before they try.
#pragma once

#include <string>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

class Token;

struct Capabilities {
  bool read_only = false;         // CKF_WRITE_PROTECTED: no key generation, no token objects
  bool aes_keygen = false;        // CKM_AES_KEY_GEN with 32-byte keys
  bool aes_key_wrap_pad = false;  // CKM_AES_KEY_WRAP_PAD (0x210A), wrap
  bool unwrap = false;            // CKM_AES_KEY_WRAP_PAD, unwrap
  bool aes_gcm = false;           // CKM_AES_GCM, encrypt + decrypt
  bool rsa_keygen = false;        // CKM_RSA_PKCS_KEY_PAIR_GEN
  bool rsa_oaep_sha1 = false;     // CKM_RSA_PKCS_OAEP, decrypt (SHA-1 is what every token supports)
  // CKM_RSA_PKCS_OAEP plus CKM_SHA256 advertised. Advertised is not accepted: SoftHSM
  // 2.6.1 advertises both and rejects the combination; once a token has rejected it,
  // this turns false for that token.
  bool rsa_oaep_sha256 = false;
  bool rsa_pss = false;    // CKM_SHA256_RSA_PKCS_PSS or CKM_RSA_PKCS_PSS, sign
  bool ec_keygen = false;  // CKM_EC_KEY_PAIR_GEN
  bool ecdsa = false;      // CKM_ECDSA (raw; the hash is computed on the host)
  bool random = false;     // CKF_RNG

  // One line per capability, "name: yes|no", for display.
  [[nodiscard]] std::string describe() const;
};

// Probes token (C_GetTokenInfo + C_GetMechanismList/Info). Token::capabilities() caches it.
[[nodiscard]] Capabilities probe_capabilities(Token& token);

// "CKM_RSA_PKCS_OAEP", or "CKM_0x..." for others.
[[nodiscard]] std::string mechanism_name(CK_MECHANISM_TYPE mechanism);

}  // namespace idvault::p11
