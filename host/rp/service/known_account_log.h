// A proof shows a device belonged to its account at the proof's head, not that nothing came
// after (vault/account/account_proof.h): a revoked device is refused by the cloud server,
// never learns of its revocation, and keeps presenting the log it last saw. The service
// closes that gap as far as it can see: it keeps, per account, the longest log it verified
// (RequestStore::known_account_log) and holds every later proof to it.
//   - the proof's log extends the known one: accepted, and kept as the known one;
//   - it is a prefix of the known one: the receipt's key is checked against the known log,
//     so a device the service has seen revoked is refused;
//   - the two differ at some entry (a fork): refused.
// `idvault-rp decrypt` keeps no store and so checks each proof on its own.
#pragma once

#include "host/rp/service/request_store.h"
#include "vault/account/account_proof.h"
#include "vault/keys/keys.h"

namespace idvault::rp {

// The proof verified already (ShareIntake::accept). Throws ShareRejected with the reason
// ("account: the log differs from the one this service saw before at entry 3", "account:
// the receipt's key is device \"laptop\", revoked at log entry 5"); StoreUnavailable when
// the store cannot be reached or other workers kept changing the log for too long.
// One short transaction per call, never held across an HSM call.
void check_against_known_log(RequestStore& store, const vault::AccountProof& proof,
                             vault::ByteView receipt_key_spki_der);

}  // namespace idvault::rp
