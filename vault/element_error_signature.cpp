#include "vault/element_error_signature.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "vault/base64.h"
#include "vault/errors.h"
#include "vault/openssl_owners.h"
#include "vault/share_receipt.h"

namespace idvault::vault {
namespace {

constexpr int kPssSaltBytes = 32;

ByteView view(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string required_string(const nlohmann::json& object, const char* key,
                            const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    throw FormatError(where + "." + key, "missing or not a string");
  return it->get<std::string>();
}

nlohmann::json signed_object(const ElementErrorNotice& notice) {
  // Through to_json first, so every error is in the one shape we write; then into the
  // key-sorted json type, which is what makes the bytes canonical.
  nlohmann::json errors = nlohmann::json::parse(to_json(std::span(notice.errors)).dump());
  return {
      {"v", 1},
      {"nonce", notice.nonce},
      {"credentials_hash", notice.credentials_hash},
      {"time", notice.time},
      {"errors", std::move(errors)},
  };
}

bool verify_ps256(ByteView spki_der, ByteView message, ByteView signature) {
  const unsigned char* der = spki_der.data();
  openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki_der.size())));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return false;
  openssl::DigestCtx ctx = openssl::make_digest_ctx();
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, openssl::sha256(), nullptr, key.get()) != 1)
    return false;
  if (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, openssl::sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, kPssSaltBytes) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

}  // namespace

std::string canonical_error_notice_bytes(const ElementErrorNotice& notice) {
  return signed_object(notice).dump(-1, ' ', /*ensure_ascii=*/true);
}

SignedElementErrors sign_element_errors(ElementErrorNotice notice, const ErrorSigningKey& key) {
  if (notice.errors.empty()) throw FormatError("errors", "at least one error is needed");
  if (notice.nonce.empty()) throw FormatError("errors.nonce", "the share's nonce is needed");
  for (std::size_t i = 0; i < notice.errors.size(); ++i) {
    validate_element_error(notice.errors[i], Strictness::own_output,
                           "errors[" + std::to_string(i) + "]");
  }
  SignedElementErrors out;
  out.signature = key.sign_pss_sha256(view(canonical_error_notice_bytes(notice)));
  out.service_key_spki_der = key.public_key_spki_der();
  out.notice = std::move(notice);
  return out;
}

bool verify_element_errors(const SignedElementErrors& signed_errors,
                           std::string_view expected_service_key_sha256) noexcept {
  try {
    if (key_fingerprint(signed_errors.service_key_spki_der) != expected_service_key_sha256)
      return false;
    const std::string bytes = canonical_error_notice_bytes(signed_errors.notice);
    return verify_ps256(signed_errors.service_key_spki_der, view(bytes), signed_errors.signature);
  } catch (...) {
    return false;
  }
}

nlohmann::ordered_json to_json(const SignedElementErrors& signed_errors) {
  nlohmann::ordered_json json;
  json["alg"] = "PS256";
  json["public_key"] = base64_encode(signed_errors.service_key_spki_der);
  json["signed"] =
      nlohmann::ordered_json::parse(canonical_error_notice_bytes(signed_errors.notice));
  json["signature"] = base64_encode(signed_errors.signature);
  return json;
}

SignedElementErrors signed_element_errors_from_json(const nlohmann::json& json) {
  const std::string where = "element_errors";
  if (!json.is_object()) throw FormatError(where, "not a JSON object");
  if (required_string(json, "alg", where) != "PS256")
    throw FormatError(where + ".alg", "only PS256 is known");
  SignedElementErrors out;
  out.service_key_spki_der =
      base64_decode(required_string(json, "public_key", where), where + ".public_key");
  out.signature = base64_decode(required_string(json, "signature", where), where + ".signature");
  auto part = json.find("signed");
  if (part == json.end() || !part->is_object())
    throw FormatError(where + ".signed", "missing or not an object");
  const std::string inner = where + ".signed";
  if (part->value("v", 0) != 1) throw FormatError(inner + ".v", "unknown version");
  out.notice.nonce = required_string(*part, "nonce", inner);
  out.notice.credentials_hash = required_string(*part, "credentials_hash", inner);
  auto time = part->find("time");
  if (time == part->end() || !time->is_number_integer())
    throw FormatError(inner + ".time", "missing or not an integer");
  out.notice.time = time->get<std::int64_t>();
  auto errors = part->find("errors");
  if (errors == part->end()) throw FormatError(inner + ".errors", "missing");
  out.notice.errors = parse_element_errors(*errors);
  return out;
}

}  // namespace idvault::vault
