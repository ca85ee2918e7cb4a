// Request signatures: how idvault-cloud knows which enrolled device sent a request, and
// that the request is fresh. No password, no session: every request carries one header,
//
//   Idvault-Signature: v=1,account=ACCOUNT,device=DEVICE,time=UNIX_SECONDS,nonce=HEX,
//                      method=METHOD,path_sha256=HEX,body_sha256=HEX,sig=BASE64
//
// (one line, no spaces; every key exactly once, in any order; unknown keys are refused).
// sig is ES256 (r||s, standard base64) by the device's identity key, on its token, or,
// for the account's recovery key (device = the id of a recovery slot the log names,
// "recovery"), PS256 (RSASSA-PSS, SHA-256, 32-byte salt) by that key: how a recovery
// without any old device reads the account log before it can enrol one. Either is over
// the canonical bytes (vault/signed/signed_statement.h) of
//
//   {"v": 1, "purpose": "idvault-cloud request", "method", "path", "body_sha256",
//    "time", "nonce", "device", "account"}
//
// where path is the request target exactly as sent on the request line (origin form,
// query included, escapes as sent), body_sha256 the lowercase hex SHA-256 of the body
// (of the empty string when there is none), time the client's clock in Unix seconds and
// nonce at least 128 random bits in lowercase hex. "purpose" keeps a request signature
// from ever reading as another statement the same identity key signs.
//
// The verifier trusts nothing the client names except, for finding the key, the device
// and account: it rebuilds the statement from the request it received (method, target,
// body) and from the device record the server looked up, so method, path_sha256 and
// body_sha256 in the header only let a refusal say what differed. The time must be within
// the allowed skew of the server's clock, and the nonce must not have been seen before
// (the server's replay store, which needs to remember a nonce only for twice the skew).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "vault/keys/keys.h"

namespace idvault::vault {

inline constexpr std::string_view kRequestSignatureHeader = "Idvault-Signature";
inline constexpr std::int64_t kDefaultRequestSkewSeconds = 300;
inline constexpr std::size_t kRequestNonceBytes = 16;  // 128 bits
// Longest header value the parser reads, and the longest account or device id; ids are
// [A-Za-z0-9._~-], so they can be logged as they are.
inline constexpr std::size_t kMaxRequestSignatureHeader = 1024;
inline constexpr std::size_t kMaxRequestIdLength = 128;

// The header's fields, parsed but not yet checked against anything.
struct RequestSignatureHeader {
  std::string account;
  std::string device;
  std::int64_t time = 0;
  std::string nonce;        // lowercase hex, 32 to 64 digits
  std::string method;       // as claimed by the client
  std::string path_sha256;  // SHA-256 of the target the client signed, lowercase hex
  std::string body_sha256;
  Bytes signature;  // 64 bytes (ES256 r||s), or 256 to 512 (PS256, an RSA key's modulus)
};

// Throws FormatError("Idvault-Signature[.key]", ...) for anything but the shape above.
[[nodiscard]] RequestSignatureHeader parse_request_signature(std::string_view value);

// Signs requests as one device of one account. Throws FormatError for a method that is
// not an HTTP token, a target that is not origin form, or an id outside the id alphabet.
class RequestSigner {
 public:
  RequestSigner(const SigningKey& identity_key, std::string account, std::string device);
  // As the account's recovery key (PS256), under the id of its slot in the log.
  RequestSigner(const PssSigningKey& recovery_key, std::string account, std::string slot);
  // The Idvault-Signature header value for this request, at now (Unix seconds), with a
  // fresh nonce.
  [[nodiscard]] std::string sign(std::string_view method, std::string_view target, ByteView body,
                                 std::int64_t now) const;
  // The same for a body whose SHA-256 (lowercase hex) the caller already has: a file
  // named by it is not hashed twice.
  [[nodiscard]] std::string sign_hashed(std::string_view method, std::string_view target,
                                        std::string_view body_sha256, std::int64_t now) const;

 private:
  const SigningKey* key_ = nullptr;
  const PssSigningKey* recovery_key_ = nullptr;
  std::string account_;
  std::string device_;
};

// The request as the server received it.
struct ReceivedRequest {
  std::string_view method;
  std::string_view target;  // exactly as on the request line
  ByteView body;
  // When set, the body's SHA-256 (lowercase hex) as the server computed it while the
  // body streamed elsewhere (to disk); body is then not read.
  std::optional<std::string_view> body_sha256 = std::nullopt;
};

// What the server knows about the device the header names: the account it is enrolled
// in, its id and its identity key; or, for the recovery key, its slot's id and its RSA
// key (recovery_key set: the signature is then PS256).
struct EnrolledDevice {
  std::string account;
  std::string device;
  Bytes identity_key_spki_der;
  bool recovery_key = false;
};

enum class RequestRefusal {
  malformed_header,  // no header, or not the shape above
  unknown_device,    // no enrolled device by that account and id
  wrong_signer,      // the header names another device or account than the record
  wrong_method,      // signed for another method
  wrong_path,        // signed for another target
  body_mismatch,     // signed for another body
  stale_time,        // older than the skew allows
  future_time,       // newer than the skew allows
  bad_signature,     // not signed by this device's key over this request
  replayed_nonce,    // seen before
};

// A short sentence a client can act on, e.g. "request time is outside the allowed
// clock skew (too old): check this device's clock".
[[nodiscard]] std::string_view describe(RequestRefusal refusal) noexcept;

struct RequestVerdict {
  std::optional<RequestRefusal> refusal;  // empty: the request is signed and fresh
  // For malformed_header: which field and why (never the client's bytes).
  std::string detail;
  [[nodiscard]] bool ok() const noexcept { return !refusal; }
};

// Whether a nonce was already seen; an implementation also records it, atomically, so
// that two requests racing with one nonce cannot both pass. Called last, only for a
// request whose signature verified, so unsigned junk never fills the store.
using NonceAlreadySeen = std::function<bool(const RequestSignatureHeader&)>;

struct RequestClock {
  std::int64_t now = 0;  // the server's clock, Unix seconds
  std::int64_t skew_seconds = kDefaultRequestSkewSeconds;
};

// Checks, in order: signer, method, path, body, time, signature, nonce.
[[nodiscard]] RequestVerdict check_request_signature(const RequestSignatureHeader& header,
                                                     const ReceivedRequest& request,
                                                     const EnrolledDevice& device,
                                                     const RequestClock& clock,
                                                     const NonceAlreadySeen& nonce_seen);

// The whole server-side step: parse the header value (nullopt: no header), look the
// device up by the account and id it names, and check. lookup returns nullopt for a
// device that is not (or no longer) enrolled.
using EnrolledDeviceLookup =
    std::function<std::optional<EnrolledDevice>(std::string_view account, std::string_view device)>;
[[nodiscard]] RequestVerdict check_request_signature(std::optional<std::string_view> header_value,
                                                     const ReceivedRequest& request,
                                                     const EnrolledDeviceLookup& lookup,
                                                     const RequestClock& clock,
                                                     const NonceAlreadySeen& nonce_seen);

}  // namespace idvault::vault
