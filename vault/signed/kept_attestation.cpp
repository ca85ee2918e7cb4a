#include "vault/signed/kept_attestation.h"

#include "common/base64.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {

AttestationClaims stored_element_binding(const StoredElement& element) {
  AttestationClaims claims;
  claims.element_type = element.type;
  if (element.data) claims.data_hash = base64_encode(element.data_hash);
  if (element.plain) claims.value_sha256 = sha256_hex(bytes_of(*element.plain));
  for (const StoredFile& file : element.files) {
    const bool listed = file.slot == "files" || file.slot == "translation";
    const std::string slot =
        listed ? file.slot + "[" + std::to_string(file.position) + "]" : file.slot;
    claims.file_hashes[slot] = base64_encode(file.file_hash);
  }
  return claims;
}

std::string stale_reason(const Attestation& attestation, const StoredElement& element,
                         std::int64_t now) {
  const AttestationClaims& attested = attestation.claims;
  if (attested.element_type != element.type) return "attests another element type";
  if (now >= attested.expires_at) return "expired";
  const AttestationClaims current = stored_element_binding(element);
  if (attested.data_hash != current.data_hash) return "attests another version (data)";
  if (attested.value_sha256 != current.value_sha256) return "attests another version (value)";
  for (const auto& [slot, hash] : attested.file_hashes) {
    const auto it = current.file_hashes.find(slot);
    if (it == current.file_hashes.end() || it->second != hash)
      return "attests another version (" + slot + ")";
  }
  return {};
}

}  // namespace idvault::vault
