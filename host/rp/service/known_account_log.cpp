#include "host/rp/service/known_account_log.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "host/rp/share/share_intake.h"

namespace idvault::rp {
namespace {

// Workers extending one account's log at once each retry after losing the compare; one
// wins every round, so this bound is only reached when something is badly wrong.
constexpr int kMaxRounds = 16;

}  // namespace

void check_against_known_log(RequestStore& store, const vault::AccountProof& proof,
                             vault::ByteView receipt_key_spki_der) {
  for (int round = 0; round < kMaxRounds; ++round) {
    const std::vector<std::string> known = store.known_account_log(proof.account_id);
    const std::size_t common = std::min(known.size(), proof.log.size());
    for (std::size_t entry = 0; entry < common; ++entry) {
      if (proof.log[entry] != known[entry]) {
        throw ShareRejected(
            "account: the log differs from the one this service saw before at entry " +
            std::to_string(entry));
      }
    }
    if (proof.log.size() > known.size()) {
      if (store.replace_account_log(proof.account_id, known.size(), proof.log)) return;
      continue;  // another worker kept a log meanwhile: compare with that one
    }
    if (proof.log.size() == known.size()) return;  // the proof's own log, verified already
    try {
      // Verified when kept; verified again, as the database is no place to trust blindly.
      (void)vault::verify_account_proof({proof.account_id, known}, receipt_key_spki_der);
    } catch (const vault::AccountProofError& error) {
      throw ShareRejected(error.what());
    }
    return;
  }
  throw StoreUnavailable("the account's log kept changing: try again");
}

}  // namespace idvault::rp
