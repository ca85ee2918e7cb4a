// The relying party's store: the requests it issued (nonce, when, the digest of the
// asking page's read token) and what arrived for each — the decryption report, the signed
// errors sent back, and the decrypted files for the service's own pages. A nonce is
// claimed exactly once, in the same transaction that stores its result, so a replayed
// bundle never lands twice. Nothing stays for ever: purge() drops requests that expired
// unanswered and results past their retention.
//
// Two back-ends behind one interface, chosen by open_request_store(): SQLite (embedded,
// the default; sqlite_request_store.h) and PostgreSQL for several workers on one
// database (postgres_request_store.h).
//
// What arrives is stored sealed (result_sealer.h): the database holds no personal data
// in the clear, only data keys wrapped by the seal key on the HSM and AES-GCM ciphertext.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace idvault::rp {

// The database cannot be reached (down, restarting, connection lost): the call changed
// nothing that was not rolled back; the same call may succeed a moment later. A server
// answers 503 with Retry-After, not 500.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ClaimOutcome { claimed, unknown, replayed, expired };

// One result as stored: sealed, never plaintext.
struct ReceivedResult {
  std::vector<std::uint8_t> wrapped_key;  // its data key, wrapped by the seal key on the HSM
  std::vector<std::uint8_t> report;       // the decryption report (JSON), sealed
  std::vector<std::uint8_t> errors;       // signed element errors (JSON or null), sealed
  std::int64_t received_at = 0;
};

struct StoredFile {
  std::string file_id;
  std::vector<std::uint8_t> bytes;  // sealed under its result's data key
};

// One file as read back: its sealed bytes and the wrapped data key of its result.
struct SealedFile {
  std::vector<std::uint8_t> wrapped_key;
  std::vector<std::uint8_t> bytes;
};

// One issued request as the read endpoints need it.
struct IssuedRequest {
  std::string read_token_sha256;  // hex; empty for rows made before read tokens existed
  bool answered = false;
  std::optional<std::int64_t> picked_up_at;  // first time the page read the result
};

// A bundle as the store recognises it before any HSM call (RelyingPartyService::callback
// computes both digests, hex). credentials_sha256 is the key: copies of one bundle, which
// would cost the same RSA decryption, share it. body_sha256 (the whole POST body) tells
// an exact copy from a bundle that reuses the credentials with other elements or another
// receipt: a refusal is replayed only to the exact copy, so a tampered neighbour cannot
// make the genuine bundle's refusal stick.
struct BundleKey {
  std::string credentials_sha256;
  std::string body_sha256;
};

// What a bundle was answered, once known.
struct BundleOutcome {
  int status = 0;
  std::string body;  // the answer's JSON body
};

enum class BundleState {
  leased,       // this caller holds the lease: go to the HSM, then settle or release
  in_progress,  // another caller holds an unexpired lease
  settled,      // answered before: the outcome says how
  // From admit_bundle only: the request is not (or no longer) here, or its nonce is
  // spent. Nothing was leased.
  unknown_request,
  answered_request,
};

struct BundleBegin {
  BundleState state = BundleState::leased;
  BundleOutcome outcome;  // when settled
};

// How long rows live (seconds).
struct RetentionPolicy {
  std::int64_t request_lifetime = 600;       // an unanswered request, from its issue
  std::int64_t result_keep = 7 * 24 * 3600;  // a result, from its arrival
};

class RequestStore {
 public:
  virtual ~RequestStore() = default;

  virtual void add_request(const std::string& nonce, const std::string& read_token_sha256,
                           std::int64_t now) = 0;
  [[nodiscard]] virtual bool has_request(const std::string& nonce) = 0;
  [[nodiscard]] virtual std::optional<IssuedRequest> request(const std::string& nonce) = 0;
  // Claims the nonce (unused, issued here, not older than max_age_seconds) and stores
  // what arrived, atomically; anything else changes nothing.
  // With a bundle, its accepted outcome (status 200, answer) is written in the same
  // transaction, so a copy never finds the nonce spent and the bundle still leased.
  virtual ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                                       std::int64_t max_age_seconds, const ReceivedResult& result,
                                       const std::vector<StoredFile>& files,
                                       const BundleKey* bundle, const BundleOutcome& accepted) = 0;
  ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                               std::int64_t max_age_seconds, const ReceivedResult& result,
                               const std::vector<StoredFile>& files) {
    return claim_and_store(nonce, now, max_age_seconds, result, files, nullptr, {});
  }

  // Bundles, recognised before the HSM is asked: one short transaction each, never one
  // held across the HSM call. begin_bundle leases a new bundle (or one whose lease ran
  // out at `now`: its holder died) for lease_seconds, or says it is in progress
  // elsewhere, or returns its settled outcome: an accepted bundle's for any copy, a
  // refusal's only for an exact copy (a different body_sha256 takes the row over).
  // nonce is the receipt's, so the row goes with its request (purge, forget).
  [[nodiscard]] virtual BundleBegin begin_bundle(const BundleKey& bundle, const std::string& nonce,
                                                 std::int64_t now, std::int64_t lease_seconds) = 0;
  // What a callback asks before the HSM, in one call: the receipt's nonce looked up
  // (unknown_request, answered_request), then begin_bundle. PostgreSQL does both in one
  // statement, a round trip instead of two transactions; this default asks twice.
  [[nodiscard]] virtual BundleBegin admit_bundle(const BundleKey& bundle, const std::string& nonce,
                                                 std::int64_t now, std::int64_t lease_seconds);
  // Records a refusal (a 400 or 410 that a copy would get again) for the leased bundle;
  // changes nothing when it is settled already or another body took it over.
  virtual void settle_bundle(const BundleKey& bundle, const BundleOutcome& refused) = 0;
  // Gives up an unsettled lease (the HSM or the database failed for a moment), so a retry
  // may try again at once.
  virtual void release_bundle(const BundleKey& bundle) = 0;

  // The result, noting the first pickup time (kept when already set).
  [[nodiscard]] virtual std::optional<ReceivedResult> pick_up(const std::string& nonce,
                                                              std::int64_t now) = 0;
  [[nodiscard]] virtual std::optional<ReceivedResult> result(const std::string& nonce) = 0;
  [[nodiscard]] virtual std::optional<SealedFile> file(const std::string& nonce,
                                                       const std::string& file_id) = 0;
  // Deletes requests that expired unanswered and results (with their files and request)
  // older than the policy allows, and the bundles of every request gone. Returns how
  // many requests went.
  virtual std::size_t purge(std::int64_t now, const RetentionPolicy& policy) = 0;
  // Removes the nonce's result and files at once (`idvault-rp forget`, the holder's erase
  // request) with the nonce's bundles, and spends the nonce if it was open, so nothing can
  // land for it afterwards; the purge takes the request row. Returns whether a result was
  // still held.
  virtual bool forget(const std::string& nonce, std::int64_t now) = 0;

  // The longest account log (vault/account/account_log.h) this service verified for an
  // account id, its entries' exact texts; empty when none was seen. A revoked device never
  // learns of its revocation and presents the log it last saw: the service compares every
  // proof with this one (known_account_log.h). Kept for good: a log is no personal data.
  [[nodiscard]] virtual std::vector<std::string> known_account_log(
      const std::string& account_id) = 0;
  // Replaces the known log by `log` only while the one held still has held_length entries
  // (0: none yet), so of two workers extending it at once one wins and the other compares
  // again: a longer log is never overwritten by one read before it. Returns whether
  // `log` was kept. The caller checked that it verifies and extends the one held.
  virtual bool replace_account_log(const std::string& account_id, std::size_t held_length,
                                   const std::vector<std::string>& log) = 0;
};

// "postgresql://..." or "postgres://..." (a libpq URI): PostgreSQL; anything else is a
// SQLite file (":memory:" keeps everything in memory: tests, demos).
[[nodiscard]] bool names_postgres(const std::string& db);
[[nodiscard]] std::unique_ptr<RequestStore> open_request_store(const std::string& db);

}  // namespace idvault::rp
