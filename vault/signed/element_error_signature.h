// Signed element errors: the PassportElementError list a service sends a holder about one
// share it received (Telegram's fix-and-resend loop), signed with the service key so a
// holder's app can tell it came from the service it shared with and not from anyone who
// saw the request link.
//
// JSON (what `idvault-rp errors` and `idvault-rp serve` hand out):
//   {"alg": "PS256", "public_key": B64 SPKI of the service key,
//    "signed": {"v":1, "nonce": the share's nonce, "credentials_hash": B64 as in the
//               share's EncryptedCredentials.hash, "time": Unix seconds,
//               "errors": [PassportElementError, ...] in the Bot API's shape},
//    "signature": B64}
// The signature is RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt, over the "signed"
// object as canonical JSON (sorted keys, no spaces, non-ASCII escaped). A holder accepts
// it only if SHA-256(public_key) equals the service_key_sha256 of its own receipt for
// that nonce (and credentials_hash matches that receipt), and the signature verifies.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/model/element_error.h"

namespace idvault::vault {

// A service's RSA key that signs (on its HSM: p11::RsaPrivateKey::sign_pss_sha256).
using ErrorSigningKey = PssSigningKey;

struct ElementErrorNotice {
  std::string nonce;
  std::string credentials_hash;  // base64
  std::int64_t time = 0;
  std::vector<PassportElementError> errors;
};

struct SignedElementErrors {
  ElementErrorNotice notice;
  Bytes service_key_spki_der;
  Bytes signature;
};

[[nodiscard]] std::string canonical_error_notice_bytes(const ElementErrorNotice& notice);

// Validates every error as we would write it (Strictness::own_output); FormatError
// naming "errors[i]..." otherwise, or "errors" when the list is empty.
[[nodiscard]] SignedElementErrors sign_element_errors(ElementErrorNotice notice,
                                                      const ErrorSigningKey& key);

// True only when service_key_spki_der's SHA-256 (hex) is expected_service_key_sha256 and
// the PS256 signature over the canonical bytes verifies under it. Never throws.
[[nodiscard]] bool verify_element_errors(const SignedElementErrors& signed_errors,
                                         std::string_view expected_service_key_sha256) noexcept;

[[nodiscard]] nlohmann::ordered_json to_json(const SignedElementErrors& signed_errors);
// Throws FormatError("element_errors...") for a wrong shape; each error is read as the
// Bot API reads it (parse_element_error).
[[nodiscard]] SignedElementErrors signed_element_errors_from_json(const nlohmann::json& json);

}  // namespace idvault::vault
