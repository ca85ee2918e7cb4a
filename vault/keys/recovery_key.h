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
#include <nlohmann/json.hpp>
#include <string>

#include "common/openssl_owners.h"
#include "common/secret_bytes.h"
#include "vault/keys/keys.h"

namespace idvault::vault {

struct RecoveryKdfParams {
  std::uint32_t t_cost = 3;              // Argon2id passes
  std::uint32_t m_cost_kib = 64 * 1024;  // 64 MiB: memory-hard against GPU guessing
  std::uint32_t parallelism = 1;
};

// The Argon2id parameters a store may name. The store is not trusted: below the floor
// (OWASP's 19 MiB, 2 passes) a stolen copy is cheap to guess; above the ceiling an
// edited store makes recovery hang or exhaust memory.
inline constexpr std::uint32_t kMinRecoveryTCost = 2;
inline constexpr std::uint32_t kMaxRecoveryTCost = 10;
inline constexpr std::uint32_t kMinRecoveryMCostKib = 19 * 1024;
inline constexpr std::uint32_t kMaxRecoveryMCostKib = 1024 * 1024;
inline constexpr std::uint32_t kMinRecoveryParallelism = 1;
inline constexpr std::uint32_t kMaxRecoveryParallelism = 8;
// FormatError("recovery.<param>") naming the allowed range when one is out of bounds.
void check_recovery_kdf_params(const RecoveryKdfParams& params);

// What the store keeps: the public key, and the private key under the password.
struct RecoveryEnvelope {
  RecoveryKdfParams params;
  Bytes salt;                  // 16 random bytes
  Bytes nonce;                 // AES-256-GCM nonce, 12 bytes
  Bytes sealed_private_key;    // PKCS#8 DER of the private key, AES-256-GCM, tag appended
  std::string public_key_pem;  // SubjectPublicKeyInfo
  // The identity key (SPKI DER) of the vault this envelope was made for. When present,
  // it, the public key, the salt and the parameters are the GCM's associated data: the
  // recovery password authenticates them, so at recovery they can be trusted though the
  // store cannot. Empty in envelopes made before idvault 0.4 (no associated data).
  Bytes identity_key_spki_der;
  // ES256 by the vault's identity key over recovery_envelope_signed_bytes: what tells
  // an unlocked agent that the recovery key is the holder's, not one put in the store.
  Bytes signature;
};

[[nodiscard]] nlohmann::json to_json(const RecoveryEnvelope& envelope);
// FormatError("recovery...") for a wrong shape or parameters out of bounds.
[[nodiscard]] RecoveryEnvelope recovery_envelope_from_json(const nlohmann::json& json);

// FormatError for a password shorter than 8 characters: a recovery password guards
// every document the holder has. Cheap: check it before making anything.
void check_recovery_password(const SecretBytes& password);

// Makes a recovery key pair and returns its envelope for the vault whose identity key
// this is, signed by it (check_recovery_password first).
[[nodiscard]] RecoveryEnvelope create_recovery_envelope(const SecretBytes& password,
                                                        const SigningKey& identity_key,
                                                        RecoveryKdfParams params = {});

// The bytes the envelope's signature covers (canonical JSON of everything but it).
[[nodiscard]] std::string recovery_envelope_signed_bytes(const RecoveryEnvelope& envelope);
void sign_recovery_envelope(RecoveryEnvelope& envelope, const SigningKey& identity_key);
// Whether the envelope carries a valid signature by this identity key. Never throws.
[[nodiscard]] bool recovery_envelope_signed_by(const RecoveryEnvelope& envelope,
                                               ByteView identity_spki_der) noexcept;

// The RSA-OAEP label of a seal: binds it to its element, slot and file, so a seal moved
// to another row no longer opens.
[[nodiscard]] std::string recovery_seal_label(std::string_view element_type, std::string_view slot,
                                              std::string_view file_id);

// Seals a value secret to the recovery public key. Load the key once and reuse it.
class RecoverySealer {
 public:
  explicit RecoverySealer(std::string_view public_key_pem);
  [[nodiscard]] Bytes seal(const SecretBytes& secret, std::string_view label) const;

 private:
  openssl::PKey key_;
};

// The private half, opened with the password; exists only while recovering. It also
// signs, PS256, the account-log entries of a recovery without any old device
// (vault/account/account_log.h).
class RecoveryOpener final : public PssSigningKey {
 public:
  // DecryptError("wrong recovery password") when the password (or the envelope) is wrong.
  [[nodiscard]] static RecoveryOpener open(const RecoveryEnvelope& envelope,
                                           const SecretBytes& password);
  // DecryptError when sealed was not made for this key with this label, or was altered.
  // Seals made before labels (idvault < 0.4) open with an empty label, so a sealed value
  // opened with its label's fallback must still be checked against its hash.
  [[nodiscard]] SecretBytes unseal(ByteView sealed, std::string_view label) const;
  // A key slot sealed to this key (VaultKey::seal_to: RSA-OAEP with SHA-1 and MGF1-SHA-1,
  // no label), which is not unseal's form. DecryptError when it does not open.
  [[nodiscard]] SecretBytes unseal_slot(ByteView sealed) const;
  // A fresh envelope for the same key pair under the same password, for another
  // identity key (after recovery the vault has a new one), signed by it.
  [[nodiscard]] RecoveryEnvelope reseal(const SecretBytes& password, const RecoveryEnvelope& old,
                                        const SigningKey& identity_key) const;

  [[nodiscard]] Bytes sign_pss_sha256(ByteView message) const override;
  [[nodiscard]] Bytes public_key_spki_der() const override;

 private:
  explicit RecoveryOpener(openssl::PKey key) : key_(std::move(key)) {}
  openssl::PKey key_;
};

}  // namespace idvault::vault
