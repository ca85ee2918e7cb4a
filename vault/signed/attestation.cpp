#include "vault/signed/attestation.h"

#include <openssl/ecdsa.h>

#include <algorithm>

#include "common/base64.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "common/pem.h"
#include "vault/model/errors.h"
#include "vault/signed/share_receipt.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

// Issued a little in the future is clock skew between provider and service, not fraud.
constexpr std::int64_t kClockSkewSeconds = 300;

void require_hash(const std::string& text, const std::string& where) {
  if (base64_decode(text, where).size() != 32)
    throw FormatError(where, "not the base64 of a 32-byte hash");
}

// Without a data hash, value digest or file hash an attestation is bound to nothing the
// provider saw, and would hold for any element of its type the holder ever shares.
bool binds_a_hash(const AttestationClaims& claims) {
  return !claims.data_hash.empty() || !claims.value_sha256.empty() || !claims.file_hashes.empty();
}

// The first file of the shared element that did not arrive, or empty. The credentials
// give its hash, but the service cannot tell that the file it would be sent is the one
// the provider saw without having it: a missing file is not attested.
std::string missing_file(const DecryptedElement& element) {
  if (element.front_side && element.front_side->missing()) return "front_side";
  if (element.reverse_side && element.reverse_side->missing()) return "reverse_side";
  if (element.selfie && element.selfie->missing()) return "selfie";
  for (std::size_t i = 0; i < element.files.size(); ++i) {
    if (element.files[i].missing()) return "files[" + std::to_string(i) + "]";
  }
  for (std::size_t i = 0; i < element.translation.size(); ++i) {
    if (element.translation[i].missing()) return "translation[" + std::to_string(i) + "]";
  }
  return {};
}

nlohmann::json signed_object(const AttestationClaims& claims) {
  nlohmann::json part = {
      {"v", 1},
      {"element_type", to_string(claims.element_type)},
      {"holder_key_sha256", claims.holder_key_sha256},
      {"level", to_string(claims.level)},
      {"issued_at", claims.issued_at},
      {"expires_at", claims.expires_at},
  };
  if (!claims.data_hash.empty()) part["data_hash"] = claims.data_hash;
  if (!claims.value_sha256.empty()) part["value_sha256"] = claims.value_sha256;
  if (!claims.file_hashes.empty()) {
    nlohmann::json files = nlohmann::json::object();
    for (const auto& [slot, hash] : claims.file_hashes) files[slot] = hash;
    part["files"] = std::move(files);
  }
  return part;
}

// The first way the attested element and the shared one differ, or empty.
std::string difference(const AttestationClaims& attested, const AttestationClaims& shared) {
  if (attested.data_hash != shared.data_hash) return "element changed since it was attested (data)";
  if (attested.value_sha256 != shared.value_sha256)
    return "element changed since it was attested (value)";
  for (const auto& [slot, hash] : shared.file_hashes) {
    auto it = attested.file_hashes.find(slot);
    if (it == attested.file_hashes.end())
      return "the share has a file the provider did not check (" + slot + ")";
    if (it->second != hash) return "element changed since it was attested (" + slot + ")";
  }
  return {};
}

}  // namespace

std::string_view to_string(AttestationLevel level) noexcept {
  switch (level) {
    case AttestationLevel::basic:
      return "basic";
    case AttestationLevel::document:
      return "document";
    case AttestationLevel::biometric:
      return "biometric";
  }
  return "basic";
}

std::optional<AttestationLevel> parse_attestation_level(std::string_view name) noexcept {
  if (name == "basic") return AttestationLevel::basic;
  if (name == "document") return AttestationLevel::document;
  if (name == "biometric") return AttestationLevel::biometric;
  return std::nullopt;
}

AttestationClaims element_binding(const DecryptedElement& element) {
  AttestationClaims claims;
  claims.element_type = element.type;
  if (!element.data_hash.empty()) claims.data_hash = base64_encode(element.data_hash);
  if (element.phone_number) claims.value_sha256 = sha256_hex(bytes_of(*element.phone_number));
  if (element.email) claims.value_sha256 = sha256_hex(bytes_of(*element.email));
  const auto add = [&](const DecryptedFile& file, const std::string& slot) {
    if (!file.missing()) claims.file_hashes[slot] = base64_encode(file.file_hash);
  };
  if (element.front_side) add(*element.front_side, "front_side");
  if (element.reverse_side) add(*element.reverse_side, "reverse_side");
  if (element.selfie) add(*element.selfie, "selfie");
  for (std::size_t i = 0; i < element.files.size(); ++i)
    add(element.files[i], "files[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < element.translation.size(); ++i) {
    add(element.translation[i], "translation[" + std::to_string(i) + "]");
  }
  return claims;
}

std::string canonical_attestation_bytes(const AttestationClaims& claims) {
  return canonical_bytes(signed_object(claims));
}

Attestation sign_attestation(AttestationClaims claims, const SigningKey& verifier_key) {
  if (claims.expires_at <= claims.issued_at)
    throw FormatError("attestation.expires_at", "must be after issued_at");
  if (claims.holder_key_sha256.size() != 64)
    throw FormatError("attestation.holder_key_sha256", "not a hex SHA-256");
  if (!binds_a_hash(claims)) throw FormatError("attestation", "binds no data, value or file hash");
  Attestation attestation;
  attestation.signature = verifier_key.sign_es256(bytes_of(canonical_attestation_bytes(claims)));
  attestation.verifier_key_spki_der = verifier_key.public_key_spki_der();
  attestation.claims = std::move(claims);
  return attestation;
}

bool verify_attestation_signature(const Attestation& attestation) noexcept {
  try {
    const std::string bytes = canonical_attestation_bytes(attestation.claims);
    return verify_es256(attestation.verifier_key_spki_der, bytes_of(bytes), attestation.signature);
  } catch (...) {
    return false;
  }
}

nlohmann::ordered_json to_json(const Attestation& attestation) {
  nlohmann::ordered_json json;
  json["element_type"] =
      to_string(attestation.claims.element_type);  // readable without parsing "signed"
  json.update(write_signed_statement("ES256", attestation.verifier_key_spki_der,
                                     canonical_attestation_bytes(attestation.claims),
                                     attestation.signature));
  return json;
}

Attestation attestation_from_json(const nlohmann::json& json) {
  const std::string where = "attestation";
  SignedStatement statement = read_signed_statement(json, "ES256", where);
  Attestation attestation;
  attestation.verifier_key_spki_der = std::move(statement.public_key_spki_der);
  attestation.signature = std::move(statement.signature);
  const nlohmann::json* part = &statement.statement;
  const std::string inner = where + ".signed";
  AttestationClaims& claims = attestation.claims;
  const std::string type_name = json_fields::require_string(*part, "element_type", inner);
  auto type = parse_element_type(type_name);
  if (!type) throw FormatError(inner + ".element_type", "unknown element type '" + type_name + "'");
  claims.element_type = *type;
  if (auto outer = json.find("element_type"); outer != json.end() && *outer != type_name) {
    throw FormatError(where + ".element_type", "differs from the signed element_type");
  }
  const std::string level_name = json_fields::require_string(*part, "level", inner);
  auto level = parse_attestation_level(level_name);
  if (!level) throw FormatError(inner + ".level", "unknown level '" + level_name + "'");
  claims.level = *level;
  claims.holder_key_sha256 = json_fields::require_string(*part, "holder_key_sha256", inner);
  claims.issued_at = json_fields::require_integer(*part, "issued_at", inner);
  claims.expires_at = json_fields::require_integer(*part, "expires_at", inner);
  if (part->contains("data_hash")) {
    claims.data_hash = json_fields::require_string(*part, "data_hash", inner);
    require_hash(claims.data_hash, inner + ".data_hash");
  }
  if (part->contains("value_sha256"))
    claims.value_sha256 = json_fields::require_string(*part, "value_sha256", inner);
  if (auto files = part->find("files"); files != part->end()) {
    if (!files->is_object()) throw FormatError(inner + ".files", "not an object");
    for (const auto& [slot, hash] : files->items()) {
      const std::string slot_where = json_fields::path(inner + ".files", slot);
      if (!hash.is_string()) throw FormatError(slot_where, "not a string");
      require_hash(hash.get<std::string>(), slot_where);
      claims.file_hashes[slot] = hash.get<std::string>();
    }
  }
  if (!binds_a_hash(claims)) throw FormatError(inner, "binds no data, value or file hash");
  return attestation;
}

AttestationCheck check_attestation(const nlohmann::json& json, const DecryptedPassport& share,
                                   std::string_view holder_key_sha256,
                                   std::span<const Bytes> trusted_keys, std::int64_t now) noexcept {
  try {
    const std::string holder(holder_key_sha256);
    return check_attestation(json, share, std::span<const std::string>(&holder, 1), trusted_keys,
                             now);
  } catch (...) {  // the copy of the name; the check itself never throws
    AttestationCheck check;
    check.reason = "cannot be checked";
    return check;
  }
}

AttestationCheck check_attestation(const nlohmann::json& json, const DecryptedPassport& share,
                                   std::span<const std::string> holder_ids,
                                   std::span<const Bytes> trusted_keys, std::int64_t now) noexcept {
  AttestationCheck check;
  try {
    Attestation attestation;
    try {
      attestation = attestation_from_json(json);
    } catch (const FormatError& e) {
      check.reason = std::string("unreadable: ") + e.what();
      return check;
    }
    const AttestationClaims& claims = attestation.claims;
    check.verifier_key_sha256 = key_fingerprint(attestation.verifier_key_spki_der);
    check.element_type = claims.element_type;
    check.level = claims.level;
    check.expires_at = claims.expires_at;
    const bool trusted =
        std::any_of(trusted_keys.begin(), trusted_keys.end(),
                    [&](const Bytes& key) { return key == attestation.verifier_key_spki_der; });
    if (!trusted) {
      check.reason = "signed by a key that is not trusted";
      return check;
    }
    if (!verify_attestation_signature(attestation)) {
      check.reason = "signature does not verify";
      return check;
    }
    if (std::find(holder_ids.begin(), holder_ids.end(), claims.holder_key_sha256) ==
        holder_ids.end()) {
      check.reason = "issued to another holder";
      return check;
    }
    const DecryptedElement* element = share.find(claims.element_type);
    if (!element) {
      check.reason = "the share does not hold this element";
      return check;
    }
    if (now >= claims.expires_at) {
      check.reason = "expired";
      return check;
    }
    if (claims.issued_at > now + kClockSkewSeconds) {
      check.reason = "issued in the future";
      return check;
    }
    if (std::string slot = missing_file(*element); !slot.empty()) {
      check.reason =
          "a file of the share did not arrive (" + slot + "): a missing file is not attested";
      return check;
    }
    if (std::string why = difference(claims, element_binding(*element)); !why.empty()) {
      check.reason = std::move(why);
      return check;
    }
    check.valid = true;
  } catch (const std::exception& e) {
    check.valid = false;
    check.reason = std::string("cannot be checked: ") + e.what();
  } catch (...) {
    check.valid = false;
    check.reason = "cannot be checked";
  }
  return check;
}

Bytes verifier_key_from_pem(std::string_view pem, const std::string& where) {
  const openssl::PKey key = public_key_from_pem(pem, where);
  if (!openssl::is_ec_p256(key.get())) throw FormatError(where, "not an EC P-256 key");
  return spki_der_of(*key);
}

}  // namespace idvault::vault
