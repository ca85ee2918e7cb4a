// Attestation: a verification provider's signed statement that it checked one element of
// a holder's documents — bound to exactly that element (its data hash and each file hash,
// as the decrypted credentials give them; for phone_number/email the SHA-256 of the
// value), to the holder's identity key (the public key of the share receipt), a level and
// an expiry. Signed ES256 by the provider's attestation key, which lives on its token.
// For a vault in a cloud account the holder is the account instead: holder_key_sha256 is
// the account id (the SHA-256 of its log's genesis entry), and each share proves its
// device belongs to the account (vault/account/account_proof.h).
//
// A holder re-putting an element re-encrypts it under fresh secrets, so every hash
// changes: an attestation then no longer matches, and a relying party reports it invalid
// ("element changed since it was attested") until the provider attests the new version.
//
// JSON (what `idvault-verifier attest` prints and shares carry under "attestations"):
//   {"element_type": T, "alg": "ES256", "public_key": B64 SPKI of the provider's key,
//    "signed": {"v":1, "element_type", "data_hash"?, "files"?: {"front_side": B64, ...,
//               "files[0]": B64, "translation[1]": B64}, "value_sha256"?,
//               "holder_key_sha256", "level", "issued_at", "expires_at"},
//    "signature": B64 r||s}
// The signature covers the "signed" object as canonical JSON: sorted keys, no spaces,
// non-ASCII escaped (as share receipts are signed).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/model/element_type.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::vault {

enum class AttestationLevel {
  basic,      // the data was looked at and is plausible
  document,   // the document scans were checked against the data
  biometric,  // and the selfie matched the document's photo
};

[[nodiscard]] std::string_view to_string(AttestationLevel level) noexcept;
[[nodiscard]] std::optional<AttestationLevel> parse_attestation_level(
    std::string_view name) noexcept;

struct AttestationClaims {
  ElementType element_type = ElementType::personal_details;
  std::string data_hash;                           // base64; empty for types without data
  std::map<std::string, std::string> file_hashes;  // "front_side", "files[0]" -> base64
  std::string value_sha256;                        // hex, phone_number/email only
  std::string holder_key_sha256;  // hex SHA-256 of the identity key's SPKI, or the account id
  AttestationLevel level = AttestationLevel::basic;
  std::int64_t issued_at = 0;   // Unix seconds
  std::int64_t expires_at = 0;  // Unix seconds
  friend bool operator==(const AttestationClaims&, const AttestationClaims&) = default;
};

struct Attestation {
  AttestationClaims claims;
  Bytes verifier_key_spki_der;
  Bytes signature;  // r||s, 64 bytes
};

// What binds an attestation to one element as a share delivers it: its data hash, file
// hashes by slot ("front_side", "files[0]", "translation[1]") and plain value digest.
// Slots whose file the share lacks (allow_missing_files) are left out.
[[nodiscard]] AttestationClaims element_binding(const DecryptedElement& element);

// The bytes that are signed.
[[nodiscard]] std::string canonical_attestation_bytes(const AttestationClaims& claims);

// Throws FormatError("attestation.expires_at", ...) unless expires_at > issued_at, and
// FormatError("attestation", ...) for claims that bind no hash.
[[nodiscard]] Attestation sign_attestation(AttestationClaims claims,
                                           const SigningKey& verifier_key);

// True only for a valid ES256 signature by verifier_key_spki_der (an EC P-256 key) over
// the canonical bytes. Never throws.
[[nodiscard]] bool verify_attestation_signature(const Attestation& attestation) noexcept;

[[nodiscard]] nlohmann::ordered_json to_json(const Attestation& attestation);
// Throws FormatError("attestation...") for a wrong shape, unknown level or version, or
// one that binds no hash at all (no data hash, value digest or file hash).
[[nodiscard]] Attestation attestation_from_json(const nlohmann::json& json);

// What a relying party concludes about one attestation carried in a share.
struct AttestationCheck {
  bool valid = false;
  std::string reason;               // empty when valid
  std::string verifier_key_sha256;  // empty when the JSON was unreadable
  std::optional<ElementType> element_type;
  std::optional<AttestationLevel> level;
  std::optional<std::int64_t> expires_at;
};

// Valid only when: the JSON reads; the signing key is one of trusted_keys (SPKI DER);
// the signature verifies; it was issued to holder_key_sha256 (the share receipt's key);
// the share holds that element; now is within [issued_at - 300 s, expires_at); every file
// of that element arrived (a missing file is not attested); and the element is unchanged
// — every hash the share and the attestation both have agrees, the data hash or value
// digest included, and the share has no file the provider did not see.
// Never throws: anything wrong is a reason.
[[nodiscard]] AttestationCheck check_attestation(const nlohmann::json& json,
                                                 const DecryptedPassport& share,
                                                 std::string_view holder_key_sha256,
                                                 std::span<const Bytes> trusted_keys,
                                                 std::int64_t now) noexcept;
// The same for a holder known by more than one name: a share with a valid account proof
// (vault/account/account_proof.h) is the account's, by its id, and its device's, by the
// receipt key's fingerprint; an attestation issued to any of holder_ids is bound to it.
[[nodiscard]] AttestationCheck check_attestation(const nlohmann::json& json,
                                                 const DecryptedPassport& share,
                                                 std::span<const std::string> holder_ids,
                                                 std::span<const Bytes> trusted_keys,
                                                 std::int64_t now) noexcept;

// Reads a trusted provider key: "BEGIN PUBLIC KEY" PEM of an EC P-256 key -> SPKI DER.
// Throws FormatError(where, ...).
[[nodiscard]] Bytes verifier_key_from_pem(std::string_view pem, const std::string& where);

}  // namespace idvault::vault
