#include "vault/account/request_signature.h"

#include <openssl/rand.h>

#include <array>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/hex.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kWhere = "Idvault-Signature";
constexpr std::size_t kMinNonceHex = 2 * kRequestNonceBytes;
constexpr std::size_t kMaxNonceHex = 64;
constexpr std::size_t kSha256Hex = 64;
constexpr std::size_t kMaxTimeDigits = 12;  // Unix seconds until the year 33658
constexpr std::size_t kMaxMethodLength = 32;
constexpr std::size_t kMaxTargetLength = 8192;
constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kMinRsaSignatureBytes = 256;  // RSA-2048
constexpr std::size_t kMaxRsaSignatureBytes = 512;  // RSA-4096

FormatError header_error(std::string_view key, const std::string& what) {
  return FormatError(std::string(kWhere) + (key.empty() ? "" : ".") + std::string(key), what);
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '-';
}

bool is_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id)
    if (!is_id_char(c)) return false;
  return true;
}

bool is_lower_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// RFC 9110 tchar, upper case only: the methods idvault-cloud serves.
bool is_method(std::string_view method) {
  if (method.empty() || method.size() > kMaxMethodLength) return false;
  for (char c : method)
    if (!(c >= 'A' && c <= 'Z')) return false;
  return true;
}

// Origin form: starts with '/', visible ASCII only (no space, no control, no DEL).
bool is_target(std::string_view target) {
  if (target.empty() || target.size() > kMaxTargetLength || target.front() != '/') return false;
  for (char c : target)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

std::string statement_bytes(std::string_view method, std::string_view target,
                            std::string_view body_sha256, std::int64_t time, std::string_view nonce,
                            std::string_view device, std::string_view account) {
  return canonical_bytes({{"v", 1},
                          {"purpose", "idvault-cloud request"},
                          {"method", method},
                          {"path", target},
                          {"body_sha256", body_sha256},
                          {"time", time},
                          {"nonce", nonce},
                          {"device", device},
                          {"account", account}});
}

std::int64_t parse_time(std::string_view text) {
  if (text.empty() || text.size() > kMaxTimeDigits)
    throw header_error("time", "must be 1 to 12 decimal digits");
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') throw header_error("time", "must be decimal digits");
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

RequestSignatureHeader parse_request_signature(std::string_view value) {
  if (value.empty()) throw header_error("", "empty");
  if (value.size() > kMaxRequestSignatureHeader)
    throw header_error("", "longer than " + std::to_string(kMaxRequestSignatureHeader) + " bytes");

  static constexpr std::array<std::string_view, 9> kKeys = {
      "v", "account", "device", "time", "nonce", "method", "path_sha256", "body_sha256", "sig"};
  std::array<std::optional<std::string_view>, kKeys.size()> found;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view pair = value.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos || equals == 0)
      throw header_error("", "expected key=value pairs separated by commas");
    const std::string_view key = pair.substr(0, equals);
    std::size_t index = 0;
    while (index < kKeys.size() && kKeys[index] != key) ++index;
    // Keys are never echoed: they are the client's bytes, of any length.
    if (index == kKeys.size()) throw header_error("", "unknown key");
    if (found[index]) throw header_error(key, "given twice");
    found[index] = pair.substr(equals + 1);
    start = end + 1;
  }
  for (std::size_t i = 0; i < kKeys.size(); ++i)
    if (!found[i]) throw header_error(kKeys[i], "missing");

  const auto field = [&](std::string_view key) {
    for (std::size_t i = 0; i < kKeys.size(); ++i)
      if (kKeys[i] == key) return *found[i];
    return std::string_view{};
  };
  if (field("v") != "1") throw header_error("v", "unknown version (this server reads 1)");

  RequestSignatureHeader header;
  header.account = field("account");
  header.device = field("device");
  if (!is_id(header.account)) throw header_error("account", "not an account id");
  if (!is_id(header.device)) throw header_error("device", "not a device id");
  header.time = parse_time(field("time"));
  header.nonce = field("nonce");
  if (header.nonce.size() < kMinNonceHex || header.nonce.size() > kMaxNonceHex ||
      header.nonce.size() % 2 != 0 || !is_lower_hex(header.nonce))
    throw header_error("nonce", "must be 32 to 64 lowercase hex digits");
  header.method = field("method");
  if (!is_method(header.method)) throw header_error("method", "not an HTTP method");
  header.path_sha256 = field("path_sha256");
  header.body_sha256 = field("body_sha256");
  if (header.path_sha256.size() != kSha256Hex || !is_lower_hex(header.path_sha256))
    throw header_error("path_sha256", "must be 64 lowercase hex digits");
  if (header.body_sha256.size() != kSha256Hex || !is_lower_hex(header.body_sha256))
    throw header_error("body_sha256", "must be 64 lowercase hex digits");
  header.signature = base64_decode(field("sig"), std::string(kWhere) + ".sig");
  const std::size_t sig_size = header.signature.size();
  if (sig_size != kSignatureBytes &&
      (sig_size < kMinRsaSignatureBytes || sig_size > kMaxRsaSignatureBytes))
    throw header_error("sig", "must be 64 bytes (ES256 r||s) or 256 to 512 (PS256)");
  return header;
}

RequestSigner::RequestSigner(const SigningKey& identity_key, std::string account,
                             std::string device)
    : key_(&identity_key), account_(std::move(account)), device_(std::move(device)) {
  if (!is_id(account_)) throw FormatError("account", "not an account id");
  if (!is_id(device_)) throw FormatError("device", "not a device id");
}

RequestSigner::RequestSigner(const PssSigningKey& recovery_key, std::string account,
                             std::string slot)
    : recovery_key_(&recovery_key), account_(std::move(account)), device_(std::move(slot)) {
  if (!is_id(account_)) throw FormatError("account", "not an account id");
  if (!is_id(device_)) throw FormatError("slot", "not a slot id");
}

std::string RequestSigner::sign(std::string_view method, std::string_view target, ByteView body,
                                std::int64_t now) const {
  return sign_hashed(method, target, sha256_hex(body), now);
}

std::string RequestSigner::sign_hashed(std::string_view method, std::string_view target,
                                       std::string_view body_sha256_hex, std::int64_t now) const {
  if (body_sha256_hex.size() != kSha256Hex || !is_lower_hex(body_sha256_hex))
    throw FormatError("body_sha256", "must be 64 lowercase hex digits");
  if (!is_method(method)) throw FormatError("method", "not an HTTP method");
  if (!is_target(target)) throw FormatError("target", "not an origin-form request target");
  if (now < 0) throw FormatError("time", "before 1970");
  std::array<std::uint8_t, kRequestNonceBytes> nonce_bytes{};
  openssl::check(RAND_bytes(nonce_bytes.data(), static_cast<int>(nonce_bytes.size())),
                 "RAND_bytes");
  const std::string nonce = hex_lower(nonce_bytes);
  const std::string body_sha256(body_sha256_hex);
  const std::string statement =
      statement_bytes(method, target, body_sha256, now, nonce, device_, account_);
  const Bytes signature = key_ != nullptr ? key_->sign_es256(bytes_of(statement))
                                          : recovery_key_->sign_pss_sha256(bytes_of(statement));
  std::string value = "v=1,account=" + account_ + ",device=" + device_;
  value += ",time=" + std::to_string(now) + ",nonce=" + nonce;
  value += ",method=" + std::string(method) + ",path_sha256=" + sha256_hex(bytes_of(target));
  value += ",body_sha256=" + body_sha256 + ",sig=" + base64_encode(signature);
  return value;
}

std::string_view describe(RequestRefusal refusal) noexcept {
  switch (refusal) {
    case RequestRefusal::malformed_header:
      return "the Idvault-Signature header is missing or malformed";
    case RequestRefusal::unknown_device:
      return "no enrolled device by that id in that account (revoked, or never approved)";
    case RequestRefusal::wrong_signer:
      return "the signature names another device or account than the one enrolled";
    case RequestRefusal::wrong_method:
      return "the request was signed for another method";
    case RequestRefusal::wrong_path:
      return "the request was signed for another path";
    case RequestRefusal::body_mismatch:
      return "the request body is not the one that was signed";
    case RequestRefusal::stale_time:
      return "the request time is older than the allowed clock skew: check this device's clock";
    case RequestRefusal::future_time:
      return "the request time is ahead of the allowed clock skew: check this device's clock";
    case RequestRefusal::bad_signature:
      return "the request signature does not verify under the device's identity key";
    case RequestRefusal::replayed_nonce:
      return "the request's nonce was already used (a replayed request)";
  }
  return "refused";
}

RequestVerdict check_request_signature(const RequestSignatureHeader& header,
                                       const ReceivedRequest& request, const EnrolledDevice& device,
                                       const RequestClock& clock,
                                       const NonceAlreadySeen& nonce_seen) {
  const auto refuse = [](RequestRefusal why) { return RequestVerdict{why, {}}; };
  if (header.account != device.account || header.device != device.device)
    return refuse(RequestRefusal::wrong_signer);
  if (header.method != request.method) return refuse(RequestRefusal::wrong_method);
  if (header.path_sha256 != sha256_hex(bytes_of(request.target)))
    return refuse(RequestRefusal::wrong_path);
  const std::string body_sha256 =
      request.body_sha256 ? std::string(*request.body_sha256) : sha256_hex(request.body);
  if (header.body_sha256 != body_sha256) return refuse(RequestRefusal::body_mismatch);
  // time is at most 12 digits and now a server clock: no overflow either way.
  if (clock.now - header.time > clock.skew_seconds) return refuse(RequestRefusal::stale_time);
  if (header.time - clock.now > clock.skew_seconds) return refuse(RequestRefusal::future_time);
  // The statement is rebuilt from what the server received and its own device record;
  // the header gives only the client's time and nonce.
  const std::string statement =
      statement_bytes(request.method, request.target, body_sha256, header.time, header.nonce,
                      device.device, device.account);
  // The algorithm is the one the server's record gives, never the header's to choose.
  const bool verified =
      device.recovery_key
          ? verify_ps256(device.identity_key_spki_der, bytes_of(statement), header.signature)
          : verify_es256(device.identity_key_spki_der, bytes_of(statement), header.signature);
  if (!verified) return refuse(RequestRefusal::bad_signature);
  if (nonce_seen(header)) return refuse(RequestRefusal::replayed_nonce);
  return {};
}

RequestVerdict check_request_signature(std::optional<std::string_view> header_value,
                                       const ReceivedRequest& request,
                                       const EnrolledDeviceLookup& lookup,
                                       const RequestClock& clock,
                                       const NonceAlreadySeen& nonce_seen) {
  if (!header_value) return {RequestRefusal::malformed_header, "no Idvault-Signature header"};
  RequestSignatureHeader header;
  try {
    header = parse_request_signature(*header_value);
  } catch (const FormatError& error) {
    return {RequestRefusal::malformed_header, error.what()};
  }
  const std::optional<EnrolledDevice> device = lookup(header.account, header.device);
  if (!device) return {RequestRefusal::unknown_device, {}};
  return check_request_signature(header, request, *device, clock, nonce_seen);
}

}  // namespace idvault::vault
