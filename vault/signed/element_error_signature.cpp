#include "vault/signed/element_error_signature.h"

#include "common/base64.h"
#include "common/json_fields.h"
#include "vault/model/errors.h"
#include "vault/signed/share_receipt.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

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

}  // namespace

std::string canonical_error_notice_bytes(const ElementErrorNotice& notice) {
  return canonical_bytes(signed_object(notice));
}

SignedElementErrors sign_element_errors(ElementErrorNotice notice, const ErrorSigningKey& key) {
  if (notice.errors.empty()) throw FormatError("errors", "at least one error is needed");
  if (notice.nonce.empty()) throw FormatError("errors.nonce", "the share's nonce is needed");
  for (std::size_t i = 0; i < notice.errors.size(); ++i) {
    validate_element_error(notice.errors[i], Strictness::own_output,
                           "errors[" + std::to_string(i) + "]");
  }
  SignedElementErrors out;
  out.signature = key.sign_pss_sha256(bytes_of(canonical_error_notice_bytes(notice)));
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
    return verify_ps256(signed_errors.service_key_spki_der, bytes_of(bytes),
                        signed_errors.signature);
  } catch (...) {
    return false;
  }
}

nlohmann::ordered_json to_json(const SignedElementErrors& signed_errors) {
  return write_signed_statement("PS256", signed_errors.service_key_spki_der,
                                canonical_error_notice_bytes(signed_errors.notice),
                                signed_errors.signature);
}

SignedElementErrors signed_element_errors_from_json(const nlohmann::json& json) {
  const std::string where = "element_errors";
  SignedStatement statement = read_signed_statement(json, "PS256", where);
  SignedElementErrors out;
  out.service_key_spki_der = std::move(statement.public_key_spki_der);
  out.signature = std::move(statement.signature);
  const nlohmann::json* part = &statement.statement;
  const std::string inner = where + ".signed";
  out.notice.nonce = json_fields::require_string(*part, "nonce", inner);
  out.notice.credentials_hash = json_fields::require_string(*part, "credentials_hash", inner);
  out.notice.time = json_fields::require_integer(*part, "time", inner);
  auto errors = part->find("errors");
  if (errors == part->end()) throw FormatError(inner + ".errors", "missing");
  out.notice.errors = parse_element_errors(*errors);
  return out;
}

}  // namespace idvault::vault
