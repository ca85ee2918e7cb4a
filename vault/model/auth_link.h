// Authorization requests: the link a service hands the holder (spec §5.1).
//
// Accepted forms, all with the same query parameters (bot_id, scope, public_key, nonce,
// optional callback_url, legacy payload):
//   tg://resolve?domain=telegrampassport&...   Telegram's JS SDK
//   tg:resolve?domain=telegrampassport&...     Android's form, without "//"
//   tg://passport?...
//   https://t.me/telegrampassport?...          (also http://, telegram.me) Divergence:
//       TDLib opens the @telegrampassport chat for these and never treats them as a
//       request. We accept them because people paste them into idvault.
//   idvault://authorize?...                    our own; bot_id may be any service id
//
// Decoding: values are percent-decoded as encodeURIComponent encodes them; '+' stays a
// literal '+' (encodeURIComponent writes a space as %20 and never emits '+', and PEM
// base64 contains '+'), a malformed %-escape is an error, unknown parameters are
// ignored, a known parameter given twice is an error, and a "#fragment" is dropped.
//
// We are stricter than TDLib, which passes scope and key to the server verbatim: we act on
// the request ourselves, so the scope must parse (vault/scope.h) and the key must be an
// RSA SubjectPublicKeyInfo PEM of at least 2048 bits (what Telegram's docs tell bots to
// make, and the least the design allows a service key).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vault/model/scope.h"

namespace idvault::vault {

struct AuthorizationRequest {
  // The bot id (a positive integer, as decimal digits) in tg links; any non-empty id
  // without control characters in idvault links.
  std::string service_id;
  std::string scope_text;      // verbatim, as the service wrote it
  ScopeRequest scope;          // parsed scope_text
  std::string public_key_pem;  // RSA SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"
  // From `nonce`, or from the legacy `payload` when `nonce` is missing or empty.
  std::string nonce;
  std::optional<std::string> callback_url;
  std::optional<std::string> payload;  // the legacy parameter verbatim, when given

  // TDLib puts the nonce in the credentials under "payload" (Passport 1.0) unless the
  // scope text is a JSON object; matching that keeps 1.0 services working.
  [[nodiscard]] bool credentials_use_payload_key() const;
};

enum class LinkFormat { idvault, tg };

// Throws FormatError whose where() is "link" or "link.<parameter>", e.g. "link.bot_id".
[[nodiscard]] AuthorizationRequest parse_authorization_link(std::string_view url);

// idvault://authorize?... or tg://resolve?domain=telegrampassport&..., values encoded as
// encodeURIComponent does. The scope is scope_text when set, else the packed form of
// scope. The tg form also carries &payload=<nonce>, like the JS SDK, for clients that
// only know Passport 1.0 (the SDK writes the literal word "nonce" there; the value is
// ignored by every client that reads `nonce`). Validates the request first: a link we
// build always parses back to the same service id, scope, key, nonce and callback.
[[nodiscard]] std::string build_authorization_link(const AuthorizationRequest& request,
                                                   LinkFormat format);

// Checks a public key as parse_authorization_link does; throws FormatError(where, ...).
void validate_service_public_key(std::string_view pem, const std::string& where);

}  // namespace idvault::vault
