// ShareReceipt: the holder's signed statement of one share — which service (its id and
// key fingerprint), which nonce, which credentials and element hashes, when, and the
// previous receipt's entry hash, so the receipts form a hash chain. Signed ES256 by the
// identity key on the holder's token; anyone with the bundle can verify it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "vault/keys/keys.h"

namespace idvault::vault {

struct ReceiptFields {
  std::string service_id;
  std::string service_key_sha256;  // hex SHA-256 of the service key's SPKI DER
  std::string nonce;
  std::string credentials_hash;                       // base64, as in EncryptedCredentials.hash
  std::map<std::string, std::string> element_hashes;  // type -> EncryptedPassportElement.hash
  std::int64_t time = 0;                              // Unix seconds
  std::string previous;  // hex entry hash of the previous receipt, 64 zeros for the first
};

struct ShareReceipt {
  ReceiptFields fields;
  Bytes public_key_spki_der;  // the identity key
  Bytes signature;            // r||s, 64 bytes
};

// The exact bytes that are signed: the fields as JSON with sorted keys, no spaces,
// ASCII-only (non-ASCII escaped), so every verifier rebuilds the same bytes.
[[nodiscard]] std::string canonical_receipt_bytes(const ReceiptFields& fields);

[[nodiscard]] ShareReceipt sign_receipt(ReceiptFields fields, const SigningKey& identity_key);

// True only if the signature is a valid ES256 signature by public_key_spki_der over the
// canonical bytes. Never throws for malformed keys or signatures: they are just invalid.
[[nodiscard]] bool verify_receipt(const ShareReceipt& receipt) noexcept;

// Bundle form: {"alg":"ES256","public_key":B64 SPKI,"signed":{...},"signature":B64}.
[[nodiscard]] nlohmann::ordered_json to_json(const ShareReceipt& receipt);
// Throws FormatError("receipt...") for a wrong shape.
[[nodiscard]] ShareReceipt receipt_from_json(const nlohmann::json& json);

// hex SHA-256 of the service key's SubjectPublicKeyInfo DER; FormatError for a bad PEM.
[[nodiscard]] std::string service_key_fingerprint(std::string_view public_key_pem);
// hex SHA-256(previous entry hash || canonical bytes || signature): the chain link.
[[nodiscard]] std::string receipt_entry_hash(const ShareReceipt& receipt);
// hex SHA-256 of the SPKI DER of a public key: how keys are shown to people.
[[nodiscard]] std::string key_fingerprint(ByteView spki_der);

}  // namespace idvault::vault
