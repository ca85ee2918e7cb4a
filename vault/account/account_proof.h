// The account proof a share carries when its vault is in a cloud account (design.md,
// "Holder identity towards services"): the account's log, from its genesis up to the head
// the sharing device had verified, which shows that the key that signed the share's
// receipt is a device the account enrolled and has not revoked. A service that accepts
// the proof knows the holder as the account (its id, the genesis hash), so attestations
// issued to the account hold on every device of it, the ones that joined later included.
//
// Bundle form, a member "account" beside "receipt" (docs/SERVICE.md):
//   {"id": HEX account id, "log": [each entry's exact text, as the account log keeps it]}
// Nothing in it is secret: the entries are signed statements about public keys.
//
// What a proof cannot show: that nothing came after its last entry. A device revoked after
// it last saw the log can still present the older log; the proof says the device belonged
// to the account at that head (see docs/SERVICE.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "vault/keys/keys.h"

namespace idvault::vault {

// The most entries a proof may carry: a bound on what one share costs a service to check
// (an ES256 or PS256 verification each).
inline constexpr std::size_t kMaxAccountProofEntries = 256;

struct AccountProof {
  std::string account_id;        // 64 lowercase hex digits: the genesis entry's SHA-256
  std::vector<std::string> log;  // entries from the genesis on, each its exact text
};

// What a verified proof establishes about the share's signing key.
struct ProvenDevice {
  std::string account_id;
  std::string device_id;
  std::uint64_t log_length = 0;  // entries the proof carried
};

// A proof that does not prove the device: the message says why, for a person
// ("account: device \"laptop\" was revoked at log entry 5").
class AccountProofError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[nodiscard]] nlohmann::ordered_json to_json(const AccountProof& proof);
// Throws FormatError("account...") for a wrong shape: not an object, an id that is not 64
// lowercase hex digits, a log that is not a non-empty list of strings or is longer than
// kMaxAccountProofEntries, or a member it does not know.
[[nodiscard]] AccountProof account_proof_from_json(const nlohmann::json& json);

// Checks that the log verifies from the genesis whose hash is the proof's id
// (vault/account/account_log.h) and that device_key_spki_der is the identity key of a
// device it enrols and does not revoke. Throws AccountProofError otherwise: a forged,
// reordered or foreign entry, a key the log never enrols, a device revoked in it.
[[nodiscard]] ProvenDevice verify_account_proof(const AccountProof& proof,
                                                ByteView device_key_spki_der);

}  // namespace idvault::vault
