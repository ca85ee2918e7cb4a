// Recovery: a way back to the documents when the token is lost, for holders who want it.
//
// At init, a recovery key pair (RSA-3072) is made on the host; its private half is
// encrypted with a key derived from the recovery password by Argon2id (memory-hard, its
// parameters stored beside it) and then forgotten. Every value secret stored afterwards
// is also sealed to the public half (RSA-OAEP-SHA-256), which needs no password, so puts
// work as usual. `recover` re-derives the key from the password, opens the private half,
// unseals every value secret and wraps it again under a new token's master key.
//
// Works the same in both key modes: it never needs the token's master key to be
// extractable, and the password never touches the token.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "pkcs11/secret_bytes.h"
#include "vault/keys.h"
#include "vault/openssl_owners.h"

namespace idvault::vault {

struct RecoveryKdfParams {
  std::uint32_t t_cost = 3;            // Argon2id passes
  std::uint32_t m_cost_kib = 64 * 1024;  // 64 MiB: memory-hard against GPU guessing
  std::uint32_t parallelism = 1;
};

// What the store keeps: the public key, and the private key under the password.
struct RecoveryEnvelope {
  RecoveryKdfParams params;
  Bytes salt;                  // 16 random bytes
  Bytes nonce;                 // AES-256-GCM nonce, 12 bytes
  Bytes sealed_private_key;    // PKCS#8 DER of the private key, AES-256-GCM, tag appended
  std::string public_key_pem;  // SubjectPublicKeyInfo
};

[[nodiscard]] nlohmann::json to_json(const RecoveryEnvelope& envelope);
// FormatError("recovery...") for a wrong shape.
[[nodiscard]] RecoveryEnvelope recovery_envelope_from_json(const nlohmann::json& json);

// Makes a recovery key pair and returns its envelope. FormatError for a password shorter
// than 8 characters: a recovery password guards every document the holder has.
[[nodiscard]] RecoveryEnvelope create_recovery_envelope(const SecretBytes& password, RecoveryKdfParams params = {});

// Seals a value secret to the recovery public key. Load the key once and reuse it.
class RecoverySealer {
 public:
  explicit RecoverySealer(std::string_view public_key_pem);
  [[nodiscard]] Bytes seal(const SecretBytes& secret) const;

 private:
  openssl::PKey key_;
};

// The private half, opened with the password; exists only while recovering.
class RecoveryOpener {
 public:
  // DecryptError("wrong recovery password") when the password (or the envelope) is wrong.
  [[nodiscard]] static RecoveryOpener open(const RecoveryEnvelope& envelope, const SecretBytes& password);
  // DecryptError when sealed was not made for this key or was altered.
  [[nodiscard]] SecretBytes unseal(ByteView sealed) const;

 private:
  explicit RecoveryOpener(openssl::PKey key) : key_(std::move(key)) {}
  openssl::PKey key_;
};

}  // namespace idvault::vault
