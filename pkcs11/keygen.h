// Key generation on the token. Private and secret keys are made sensitive and
// non-extractable: they never leave the token, not even wrapped.
#pragma once

#include <memory>
#include <string>

#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"

namespace idvault::p11 {

class Token;

struct KeySpec {
  std::string label;     // CKA_LABEL (the URI's object=)
  Bytes id;              // CKA_ID (the URI's id=); pairs public and private halves
  bool on_token = true;  // false: a session object, gone when its session closes (benchmarks)
};

struct KeyPair {
  Object public_key;
  Object private_key;
};

// RSA with 2048, 3072 or 4096 bits (BadArgument otherwise), e = 65537; the private half
// can decrypt, sign and unwrap. UnsupportedMechanism if the token cannot generate RSA.
[[nodiscard]] KeyPair generate_rsa_key_pair(const std::shared_ptr<Token>& token, CK_ULONG bits,
                                            const KeySpec& spec);

// EC on P-256 (prime256v1); the private half signs.
[[nodiscard]] KeyPair generate_ec_p256_key_pair(const std::shared_ptr<Token>& token,
                                                const KeySpec& spec);

// AES-256 that encrypts, decrypts, wraps and unwraps.
[[nodiscard]] Object generate_aes256_key(const std::shared_ptr<Token>& token, const KeySpec& spec);

}  // namespace idvault::p11
