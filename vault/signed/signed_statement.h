// What share receipts, attestations, signed element errors and account-log entries
// (vault/account/account_log.h) have in common: a statement ("signed", a JSON object made
// canonical — sorted keys, no spaces, non-ASCII escaped — before signing), the signer's
// public key and the signature, carried as
//   {"alg": ALG, "public_key": B64 SPKI, "signed": {...}, "signature": B64}
// plus the checks every reader of one needs. One implementation, so they cannot drift
// apart in how they canonicalise, read or verify.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "vault/keys/keys.h"

namespace idvault::vault {

struct SignedStatement {
  Bytes public_key_spki_der;
  nlohmann::json statement;  // the "signed" object
  Bytes signature;
};

// The bytes that are signed: JSON with sorted keys, no spaces, ASCII only.
[[nodiscard]] std::string canonical_bytes(const nlohmann::json& statement);

// Reads the envelope, requiring alg and "signed" to be an object with "v": 1. Throws
// FormatError naming where + ".<member>".
[[nodiscard]] SignedStatement read_signed_statement(const nlohmann::json& json,
                                                    std::string_view alg, const std::string& where);
// The envelope, in the order above; statement given as its canonical bytes.
[[nodiscard]] nlohmann::ordered_json write_signed_statement(std::string_view alg,
                                                            ByteView public_key_spki_der,
                                                            const std::string& canonical,
                                                            ByteView signature);

// ES256: an EC P-256 key (SPKI DER), SHA-256, signature r||s. Never throws: a malformed
// key or signature is just not valid.
[[nodiscard]] bool verify_es256(ByteView spki_der, ByteView message,
                                ByteView raw_signature) noexcept;
// PS256: an RSA key (SPKI DER), RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
// Never throws: a malformed key or signature is just not valid.
[[nodiscard]] bool verify_ps256(ByteView spki_der, ByteView message, ByteView signature) noexcept;
// The signing half, with an RSA private key in this process (the opened recovery key;
// tests' keys): throws OpenSslError naming the call that failed.
[[nodiscard]] Bytes sign_ps256(EVP_PKEY* key, ByteView message);

[[nodiscard]] std::string sha256_hex(ByteView bytes);
[[nodiscard]] inline ByteView bytes_of(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace idvault::vault
