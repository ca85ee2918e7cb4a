#include "vault/signed/share_receipt.h"

#include "common/json_fields.h"
#include "common/pem.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

nlohmann::json statement_of(const ReceiptFields& fields) {
  nlohmann::json hashes = nlohmann::json::object();
  for (const auto& [type, hash] : fields.element_hashes) hashes[type] = hash;
  return {
      {"v", 1},
      {"service_id", fields.service_id},
      {"service_key_sha256", fields.service_key_sha256},
      {"nonce", fields.nonce},
      {"credentials_hash", fields.credentials_hash},
      {"elements", hashes},
      {"time", fields.time},
      {"previous", fields.previous},
  };
}

}  // namespace

std::string canonical_receipt_bytes(const ReceiptFields& fields) {
  return canonical_bytes(statement_of(fields));
}

ShareReceipt sign_receipt(ReceiptFields fields, const SigningKey& identity_key) {
  ShareReceipt receipt;
  receipt.signature = identity_key.sign_es256(bytes_of(canonical_receipt_bytes(fields)));
  receipt.public_key_spki_der = identity_key.public_key_spki_der();
  receipt.fields = std::move(fields);
  return receipt;
}

bool verify_receipt(const ShareReceipt& receipt) noexcept {
  try {
    return verify_es256(receipt.public_key_spki_der,
                        bytes_of(canonical_receipt_bytes(receipt.fields)), receipt.signature);
  } catch (...) {
    return false;
  }
}

nlohmann::ordered_json to_json(const ShareReceipt& receipt) {
  return write_signed_statement("ES256", receipt.public_key_spki_der,
                                canonical_receipt_bytes(receipt.fields), receipt.signature);
}

ShareReceipt receipt_from_json(const nlohmann::json& json) {
  SignedStatement statement = read_signed_statement(json, "ES256", "receipt");
  const nlohmann::json& part = statement.statement;
  const std::string where = "receipt.signed";
  ShareReceipt receipt;
  receipt.public_key_spki_der = std::move(statement.public_key_spki_der);
  receipt.signature = std::move(statement.signature);
  ReceiptFields& fields = receipt.fields;
  fields.service_id = json_fields::require_string(part, "service_id", where);
  fields.service_key_sha256 = json_fields::require_string(part, "service_key_sha256", where);
  fields.nonce = json_fields::require_string(part, "nonce", where);
  fields.credentials_hash = json_fields::require_string(part, "credentials_hash", where);
  fields.previous = json_fields::require_string(part, "previous", where);
  fields.time = json_fields::require_integer(part, "time", where);
  auto elements = part.find("elements");
  if (elements == part.end() || !elements->is_object())
    throw FormatError(where + ".elements", "missing");
  for (const auto& [type, hash] : elements->items()) {
    if (!hash.is_string())
      throw FormatError(json_fields::path(where + ".elements", type), "not a string");
    fields.element_hashes[type] = hash.get<std::string>();
  }
  return receipt;
}

std::string service_key_fingerprint(std::string_view public_key_pem) {
  return key_fingerprint(spki_der_from_pem(public_key_pem, "public_key"));
}

std::string key_fingerprint(ByteView spki_der) {
  return sha256_hex(spki_der);
}

std::string receipt_entry_hash(const ShareReceipt& receipt) {
  std::string material = receipt.fields.previous;
  material += canonical_receipt_bytes(receipt.fields);
  material.append(receipt.signature.begin(), receipt.signature.end());
  return sha256_hex(bytes_of(material));
}

}  // namespace idvault::vault
