// The key interface of the vault: everything vault/ does with a private or secret key
// goes through these, so the keys can live on a token (vault/token_keys.h, on pkcs11/)
// or, in tests, in memory (vault/software_keys.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/secret_bytes.h"

namespace idvault::vault {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// A relying party's RSA key: decrypts the credentials secret a holder encrypted to it
// with RSA-OAEP (SHA-1, MGF1-SHA-1), as Telegram Passport does.
class ServiceKey {
 public:
  virtual ~ServiceKey() = default;
  // Any failure (wrong key, tampered ciphertext, token error) throws DecryptError with
  // one message, so callers cannot build a padding oracle out of it.
  [[nodiscard]] virtual SecretBytes decrypt_oaep_sha1(ByteView ciphertext) const = 0;
  // SubjectPublicKeyInfo as PEM ("BEGIN PUBLIC KEY"), what Telegram's link carries.
  [[nodiscard]] virtual std::string public_key_pem() const = 0;
};

// An EC P-256 signing key (holder identity key, verifier attestation key).
class SigningKey {
 public:
  virtual ~SigningKey() = default;
  // ES256 over message: SHA-256 on the host, ECDSA on the key; returns r||s (64 bytes),
  // the JOSE form.
  [[nodiscard]] virtual Bytes sign_es256(ByteView message) const = 0;
  [[nodiscard]] virtual Bytes public_key_spki_der() const = 0;
};

// An RSA key that signs with RSASSA-PSS, SHA-256, MGF1-SHA-256 and a 32-byte salt
// (PS256): a service's element-error key, an account's recovery key.
class PssSigningKey {
 public:
  virtual ~PssSigningKey() = default;
  [[nodiscard]] virtual Bytes sign_pss_sha256(ByteView message) const = 0;
  [[nodiscard]] virtual Bytes public_key_spki_der() const = 0;

 protected:  // copied and moved only as the key it is, never sliced to the interface
  PssSigningKey() = default;
  PssSigningKey(const PssSigningKey&) = default;
  PssSigningKey(PssSigningKey&&) = default;
  PssSigningKey& operator=(const PssSigningKey&) = default;
  PssSigningKey& operator=(PssSigningKey&&) = default;
};

// The holder's master key: wraps and unwraps value secrets without ever leaving its home.
class MasterKey {
 public:
  virtual ~MasterKey() = default;
  [[nodiscard]] virtual Bytes wrap(const SecretBytes& secret) const = 0;
  // Throws DecryptError when the wrapped bytes were not made by this key or were altered.
  [[nodiscard]] virtual SecretBytes unwrap(ByteView wrapped) const = 0;
};

}  // namespace idvault::vault
