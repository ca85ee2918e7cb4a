// The holder's side of attestations: whether one kept in the vault still speaks for the
// element as stored. A share carries only those: an attestation of a replaced version
// would hand the service the old version's hashes (for a phone number or e-mail address
// the SHA-256 of the value, which a few guesses undo), and an expired one vouches for
// nothing.
#pragma once

#include <cstdint>
#include <string>

#include "vault/signed/attestation.h"
#include "vault/store/vault_store.h"

namespace idvault::vault {

// What an attestation of the element as stored would bind: its data hash, plain value
// digest and file hashes by slot ("front_side", "files[0]", "translation[1]").
[[nodiscard]] AttestationClaims stored_element_binding(const StoredElement& element);

// Why the attestation does not speak for the element as stored at `now`, or empty when
// it does: it is for another element type, expired, or names a data hash, value digest
// or file hash the element does not have. The element may hold files the attestation
// does not name (a provider that was not sent the selfie); a service judges that.
[[nodiscard]] std::string stale_reason(const Attestation& attestation, const StoredElement& element,
                                       std::int64_t now);

}  // namespace idvault::vault
