// The request store in PostgreSQL (libpqxx 6.4): several workers, on one machine or
// many, share one database. Each store keeps a small pool of connections; a connection
// that breaks is dropped and the next call opens a new one, so a restarted server costs
// the calls that were under way, not the worker.
//
// A nonce is claimed by one conditional UPDATE (... WHERE used_at IS NULL) in the
// transaction that stores its result: PostgreSQL's row lock makes a second claimer wait
// for the first to commit, then find the row used, so exactly one copy of a bundle lands
// whichever worker it reached. The transaction is opened after the decryption, never
// held across an HSM call (the caller's order, kept by RelyingPartyService).
//
// Before that, a bundle is leased by one INSERT ... ON CONFLICT DO UPDATE ... WHERE (new,
// lease run out, or a refusal of another body): of the copies racing in over every
// worker exactly one gets the lease and asks the HSM; the others read the row behind its
// lock and answer 409 or the stored outcome.
#pragma once

#include <cstddef>
#include <memory>

#include "host/rp/service/request_store.h"

namespace idvault::postgres {
class ConnectionPool;
}  // namespace idvault::postgres

namespace idvault::rp {

class PostgresRequestStore final : public RequestStore {
 public:
  // uri: a libpq connection URI (postgresql://user@host/db, or ?host=/socket/dir).
  // At most `connections` are open at once; more callers wait for one. Creates the
  // tables when missing.
  explicit PostgresRequestStore(const std::string& uri, std::size_t connections = 8);
  ~PostgresRequestStore() override;
  PostgresRequestStore(const PostgresRequestStore&) = delete;
  PostgresRequestStore& operator=(const PostgresRequestStore&) = delete;

  void add_request(const std::string& nonce, const std::string& read_token_sha256,
                   std::int64_t now) override;
  [[nodiscard]] bool has_request(const std::string& nonce) override;
  [[nodiscard]] std::optional<IssuedRequest> request(const std::string& nonce) override;
  using RequestStore::claim_and_store;
  ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                               std::int64_t max_age_seconds, const ReceivedResult& result,
                               const std::vector<StoredFile>& files, const BundleKey* bundle,
                               const BundleOutcome& accepted) override;
  [[nodiscard]] BundleBegin begin_bundle(const BundleKey& bundle, const std::string& nonce,
                                         std::int64_t now, std::int64_t lease_seconds) override;
  [[nodiscard]] BundleBegin admit_bundle(const BundleKey& bundle, const std::string& nonce,
                                         std::int64_t now, std::int64_t lease_seconds) override;
  void settle_bundle(const BundleKey& bundle, const BundleOutcome& refused) override;
  void release_bundle(const BundleKey& bundle) override;
  [[nodiscard]] std::optional<ReceivedResult> pick_up(const std::string& nonce,
                                                      std::int64_t now) override;
  [[nodiscard]] std::optional<ReceivedResult> result(const std::string& nonce) override;
  [[nodiscard]] std::optional<SealedFile> file(const std::string& nonce,
                                               const std::string& file_id) override;
  std::size_t purge(std::int64_t now, const RetentionPolicy& policy) override;
  bool forget(const std::string& nonce, std::int64_t now) override;
  [[nodiscard]] std::vector<std::string> known_account_log(const std::string& account_id) override;
  bool replace_account_log(const std::string& account_id, std::size_t held_length,
                           const std::vector<std::string>& log) override;

 private:
  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace idvault::rp
