#include "host/rp/service/postgres_request_store.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <utility>

#include "host/postgres/connection_pool.h"

namespace idvault::rp {

namespace {

// The statements each bundle runs, parsed and planned once per connection (libpqxx 6.4
// prepares a registered statement on its first use) instead of on every call; each is
// one statement run without BEGIN and COMMIT around it (autocommit is atomic on its own),
// so a bundle costs the database two round trips before the answer, not eleven.
constexpr const char* kAdmit = "idvault_admit_bundle";
constexpr const char* kClaim = "idvault_claim";
constexpr const char* kClaimBundle = "idvault_claim_bundle";

// The receipt's request looked up and the bundle leased, unless the request is unknown
// or answered: (answered, or NULL when unknown; whether the lease was taken). The upsert
// is begin_bundle's.
constexpr const char* kAdmitSql =
    "WITH issued AS (SELECT used_at IS NOT NULL AS answered FROM requests WHERE nonce = $2), "
    "taken AS (INSERT INTO bundles (credentials_sha256, nonce, body_sha256, lease_until) "
    "SELECT $1::text, $2::text, $3::text, $4::bigint FROM issued WHERE NOT issued.answered "
    "ON CONFLICT (credentials_sha256) DO UPDATE SET "
    "nonce = EXCLUDED.nonce, body_sha256 = EXCLUDED.body_sha256, "
    "lease_until = EXCLUDED.lease_until, status = NULL, answer = NULL "
    "WHERE (bundles.status IS NULL AND bundles.lease_until <= $5::bigint) OR "
    "(bundles.status IS NOT NULL AND bundles.status <> 200 AND "
    "bundles.body_sha256 <> EXCLUDED.body_sha256) RETURNING 1) "
    "SELECT (SELECT answered FROM issued), EXISTS (SELECT 1 FROM taken)";

// The nonce claimed and the result stored in one statement (its CTEs run once each,
// atomically); it answers how many rows were claimed, 0 or 1.
constexpr const char* kClaimCte =
    "WITH claimed AS (UPDATE requests SET used_at = $1::bigint WHERE nonce = $2 "
    "AND used_at IS NULL AND created_at >= $3::bigint RETURNING nonce), "
    "stored AS (INSERT INTO results (nonce, received_at, wrapped_key, report, errors) "
    "SELECT nonce, $1::bigint, $4::bytea, $5::bytea, $6::bytea FROM claimed) ";
// ... and with them the bundle's accepted outcome.
constexpr const char* kSettleCte =
    ", settled AS (INSERT INTO bundles (credentials_sha256, nonce, body_sha256, lease_until, "
    "status, answer) SELECT $7::text, nonce, $8::text, $1::bigint, $9::integer, $10::text "
    "FROM claimed ON CONFLICT (credentials_sha256) DO UPDATE SET nonce = EXCLUDED.nonce, "
    "body_sha256 = EXCLUDED.body_sha256, status = EXCLUDED.status, answer = EXCLUDED.answer) ";
constexpr const char* kClaimedCount = "SELECT count(*) FROM claimed";

void prepare_statements(pqxx::connection& c) {
  c.prepare(kAdmit, kAdmitSql);
  c.prepare(kClaim, std::string(kClaimCte) + kClaimedCount);
  c.prepare(kClaimBundle, std::string(kClaimCte) + kSettleCte + kClaimedCount);
}

using Pool = postgres::ConnectionPool;
using postgres::bytea;
using postgres::bytes_of;

// Runs f on a pooled connection; a lost or unreachable database is StoreUnavailable.
template <class F>
auto with_connection(Pool& pool, F&& f) {
  return pool.with_connection<StoreUnavailable>(std::forward<F>(f));
}

ReceivedResult received_from(const pqxx::row& row) {
  return ReceivedResult{bytes_of(row[0]), bytes_of(row[1]), bytes_of(row[2]),
                        row[3].as<std::int64_t>()};
}

// Several workers may start at once: the advisory lock lets one create the tables.
constexpr const char* kSchema =
    "SELECT pg_advisory_xact_lock(7310494375216431617);"
    // A store from before results were sealed holds them in the clear: they go, their
    // nonces stay spent, the purge takes the requests.
    "DO $$ BEGIN"
    "  IF to_regclass('results') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute"
    "      WHERE attrelid = to_regclass('results') AND attname = 'wrapped_key') THEN"
    "    DROP TABLE IF EXISTS files; DROP TABLE results;"
    "  END IF;"
    "END $$;"
    "CREATE TABLE IF NOT EXISTS requests (nonce TEXT PRIMARY KEY, created_at BIGINT NOT NULL,"
    "  used_at BIGINT, read_token_sha256 TEXT NOT NULL DEFAULT '', picked_up_at BIGINT);"
    "CREATE TABLE IF NOT EXISTS results (nonce TEXT PRIMARY KEY REFERENCES requests(nonce),"
    "  received_at BIGINT NOT NULL, wrapped_key BYTEA NOT NULL, report BYTEA NOT NULL,"
    "  errors BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS files (nonce TEXT NOT NULL REFERENCES requests(nonce),"
    "  file_id TEXT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (nonce, file_id));"
    "CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at);"
    "CREATE INDEX IF NOT EXISTS results_received ON results (received_at);"
    "CREATE TABLE IF NOT EXISTS bundles (credentials_sha256 TEXT PRIMARY KEY,"
    "  nonce TEXT NOT NULL, body_sha256 TEXT NOT NULL, lease_until BIGINT NOT NULL,"
    "  status INTEGER, answer TEXT);"
    "CREATE INDEX IF NOT EXISTS bundles_nonce ON bundles (nonce);"
    "CREATE TABLE IF NOT EXISTS account_logs (account_id TEXT PRIMARY KEY,"
    "  length BIGINT NOT NULL, log TEXT NOT NULL);";

}  // namespace

PostgresRequestStore::PostgresRequestStore(const std::string& uri, std::size_t connections)
    : pool_(std::make_unique<Pool>(uri, connections, prepare_statements)) {
  with_connection(*pool_, [](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec(kSchema);
    transaction.commit();
  });
}

PostgresRequestStore::~PostgresRequestStore() = default;

void PostgresRequestStore::add_request(const std::string& nonce,
                                       const std::string& read_token_sha256, std::int64_t now) {
  with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec_params0(
        "INSERT INTO requests (nonce, created_at, read_token_sha256) VALUES ($1, $2, $3)", nonce,
        now, read_token_sha256);
    transaction.commit();
  });
}

bool PostgresRequestStore::has_request(const std::string& nonce) {
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    return !transaction.exec_params("SELECT 1 FROM requests WHERE nonce = $1", nonce).empty();
  });
}

std::optional<IssuedRequest> PostgresRequestStore::request(const std::string& nonce) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<IssuedRequest> {
    pqxx::read_transaction transaction(c);
    const pqxx::result rows = transaction.exec_params(
        "SELECT read_token_sha256, used_at IS NOT NULL, picked_up_at FROM requests "
        "WHERE nonce = $1",
        nonce);
    if (rows.empty()) return std::nullopt;
    IssuedRequest issued;
    issued.read_token_sha256 = rows[0][0].as<std::string>();
    issued.answered = rows[0][1].as<bool>();
    if (!rows[0][2].is_null()) issued.picked_up_at = rows[0][2].as<std::int64_t>();
    return issued;
  });
}

ClaimOutcome PostgresRequestStore::claim_and_store(const std::string& nonce, std::int64_t now,
                                                   std::int64_t max_age_seconds,
                                                   const ReceivedResult& result,
                                                   const std::vector<StoredFile>& files,
                                                   const BundleKey* bundle,
                                                   const BundleOutcome& accepted) {
  // A concurrent claimer of the same row waits in the UPDATE for this one's commit, then
  // finds used_at set and changes nothing.
  const auto claim = [&](pqxx::transaction_base& transaction) {
    const pqxx::result claimed =
        bundle != nullptr
            ? transaction.exec_prepared(kClaimBundle, now, nonce, now - max_age_seconds,
                                        bytea(result.wrapped_key), bytea(result.report),
                                        bytea(result.errors), bundle->credentials_sha256,
                                        bundle->body_sha256, accepted.status, accepted.body)
            : transaction.exec_prepared(kClaim, now, nonce, now - max_age_seconds,
                                        bytea(result.wrapped_key), bytea(result.report),
                                        bytea(result.errors));
    return claimed[0][0].as<std::int64_t>() == 1;
  };
  std::optional<bool> claimed;
  try {
    claimed = with_connection(*pool_, [&](pqxx::connection& c) {
      if (files.empty()) {
        pqxx::nontransaction transaction(c);  // one statement: its own transaction
        return claim(transaction);
      }
      pqxx::work transaction(c);
      if (!claim(transaction)) return false;
      for (const auto& file : files) {
        transaction.exec_params0(
            "INSERT INTO files (nonce, file_id, bytes) VALUES ($1, $2, $3) "
            "ON CONFLICT (nonce, file_id) DO UPDATE SET bytes = EXCLUDED.bytes",
            nonce, file.file_id, bytea(file.bytes));
      }
      transaction.commit();
      return true;
    });
  } catch (const pqxx::in_doubt_error&) {
  } catch (const StoreUnavailable&) {
    // Lost on the way: as in doubt as a lost COMMIT when the statement was its own
    // transaction; asked below (and unavailable again while the server is down).
  }
  if (!claimed) {
    // The connection went during the commit: the row says what happened. FOR UPDATE
    // waits for the old transaction if its server process is still finishing it.
    const bool landed = with_connection(*pool_, [&](pqxx::connection& c) {
      pqxx::work transaction(c);
      (void)transaction.exec_params("SELECT 1 FROM requests WHERE nonce = $1 FOR UPDATE", nonce);
      const bool found = !transaction
                              .exec_params(
                                  "SELECT 1 FROM results WHERE nonce = $1 AND received_at = $2 "
                                  "AND report = $3",
                                  nonce, now, bytea(result.report))
                              .empty();
      transaction.commit();
      return found;
    });
    if (landed) return ClaimOutcome::claimed;
    throw StoreUnavailable("PostgreSQL lost the result's commit; the nonce is still open");
  }
  if (*claimed) return ClaimOutcome::claimed;
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::nontransaction transaction(c);
    const pqxx::result why =
        transaction.exec_params("SELECT used_at IS NOT NULL FROM requests WHERE nonce = $1", nonce);
    if (why.empty()) return ClaimOutcome::unknown;
    return why[0][0].as<bool>() ? ClaimOutcome::replayed : ClaimOutcome::expired;
  });
}

BundleBegin PostgresRequestStore::begin_bundle(const BundleKey& bundle, const std::string& nonce,
                                               std::int64_t now, std::int64_t lease_seconds) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> BundleBegin {
    // One statement takes the lease when the bundle is new, its holder's lease ran out, or
    // it holds a refusal of another body; the row lock it takes (or waits for) makes one
    // racing caller the winner whichever worker it reached. A caller that did not win
    // reads what the row holds in the same transaction, behind that lock.
    pqxx::work transaction(c);
    const pqxx::result taken = transaction.exec_params(
        "INSERT INTO bundles (credentials_sha256, nonce, body_sha256, lease_until) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (credentials_sha256) DO UPDATE SET "
        "nonce = EXCLUDED.nonce, body_sha256 = EXCLUDED.body_sha256, "
        "lease_until = EXCLUDED.lease_until, status = NULL, answer = NULL "
        "WHERE (bundles.status IS NULL AND bundles.lease_until <= $5) OR "
        "(bundles.status IS NOT NULL AND bundles.status <> 200 AND "
        "bundles.body_sha256 <> EXCLUDED.body_sha256) RETURNING 1",
        bundle.credentials_sha256, nonce, bundle.body_sha256, now + lease_seconds, now);
    if (!taken.empty()) {
      transaction.commit();
      return {BundleState::leased, {}};
    }
    const pqxx::result row =
        transaction.exec_params("SELECT status, answer FROM bundles WHERE credentials_sha256 = $1",
                                bundle.credentials_sha256);
    transaction.commit();
    if (row.empty() || row[0][0].is_null()) return {BundleState::in_progress, {}};
    return {BundleState::settled,
            {row[0][0].as<int>(), row[0][1].is_null() ? "" : row[0][1].as<std::string>()}};
  });
}

BundleBegin PostgresRequestStore::admit_bundle(const BundleKey& bundle, const std::string& nonce,
                                               std::int64_t now, std::int64_t lease_seconds) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> BundleBegin {
    pqxx::nontransaction transaction(c);  // one statement: its own transaction
    const pqxx::row admitted = transaction.exec_prepared1(
        kAdmit, bundle.credentials_sha256, nonce, bundle.body_sha256, now + lease_seconds, now);
    if (admitted[0].is_null()) return {BundleState::unknown_request, {}};
    if (admitted[0].as<bool>()) return {BundleState::answered_request, {}};
    if (admitted[1].as<bool>()) return {BundleState::leased, {}};
    // Leased by another caller, or settled: what the row holds now (a row gone since, as
    // when its lease was given back, is reported in progress: the sender asks again).
    const pqxx::result row =
        transaction.exec_params("SELECT status, answer FROM bundles WHERE credentials_sha256 = $1",
                                bundle.credentials_sha256);
    if (row.empty() || row[0][0].is_null()) return {BundleState::in_progress, {}};
    return {BundleState::settled,
            {row[0][0].as<int>(), row[0][1].is_null() ? "" : row[0][1].as<std::string>()}};
  });
}

void PostgresRequestStore::settle_bundle(const BundleKey& bundle, const BundleOutcome& refused) {
  with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec_params0(
        "UPDATE bundles SET status = $1, answer = $2 WHERE credentials_sha256 = $3 "
        "AND body_sha256 = $4 AND status IS NULL",
        refused.status, refused.body, bundle.credentials_sha256, bundle.body_sha256);
    transaction.commit();
  });
}

void PostgresRequestStore::release_bundle(const BundleKey& bundle) {
  with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec_params0(
        "DELETE FROM bundles WHERE credentials_sha256 = $1 AND body_sha256 = $2 "
        "AND status IS NULL",
        bundle.credentials_sha256, bundle.body_sha256);
    transaction.commit();
  });
}

std::optional<ReceivedResult> PostgresRequestStore::pick_up(const std::string& nonce,
                                                            std::int64_t now) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<ReceivedResult> {
    pqxx::work transaction(c);
    transaction.exec_params0(
        "UPDATE requests SET picked_up_at = $1 WHERE nonce = $2 AND picked_up_at IS NULL", now,
        nonce);
    const pqxx::result rows = transaction.exec_params(
        "SELECT wrapped_key, report, errors, received_at FROM results WHERE nonce = $1", nonce);
    transaction.commit();
    if (rows.empty()) return std::nullopt;
    return received_from(rows[0]);
  });
}

std::optional<ReceivedResult> PostgresRequestStore::result(const std::string& nonce) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<ReceivedResult> {
    pqxx::read_transaction transaction(c);
    const pqxx::result rows = transaction.exec_params(
        "SELECT wrapped_key, report, errors, received_at FROM results WHERE nonce = $1", nonce);
    if (rows.empty()) return std::nullopt;
    return received_from(rows[0]);
  });
}

std::optional<SealedFile> PostgresRequestStore::file(const std::string& nonce,
                                                     const std::string& file_id) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<SealedFile> {
    pqxx::read_transaction transaction(c);
    const pqxx::result rows = transaction.exec_params(
        "SELECT results.wrapped_key, files.bytes FROM files JOIN results USING (nonce) "
        "WHERE files.nonce = $1 AND files.file_id = $2",
        nonce, file_id);
    if (rows.empty()) return std::nullopt;
    return SealedFile{bytes_of(rows[0][0]), bytes_of(rows[0][1])};
  });
}

std::size_t PostgresRequestStore::purge(std::int64_t now, const RetentionPolicy& policy) {
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const std::int64_t results_before = now - policy.result_keep;
    transaction.exec_params0(
        "DELETE FROM files WHERE nonce IN (SELECT nonce FROM results WHERE received_at < $1)",
        results_before);
    transaction.exec_params0("DELETE FROM results WHERE received_at < $1", results_before);
    // An answered request goes with its result; foreign keys want the result gone first.
    const pqxx::result purged = transaction.exec_params0(
        "DELETE FROM requests WHERE (used_at IS NULL AND created_at < $1) OR "
        "(used_at IS NOT NULL AND nonce NOT IN (SELECT nonce FROM results))",
        now - policy.request_lifetime);
    transaction.exec0("DELETE FROM bundles WHERE nonce NOT IN (SELECT nonce FROM requests)");
    transaction.commit();
    return static_cast<std::size_t>(purged.affected_rows());
  });
}

bool PostgresRequestStore::forget(const std::string& nonce, std::int64_t now) {
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec_params0("DELETE FROM files WHERE nonce = $1", nonce);
    const bool held =
        transaction.exec_params0("DELETE FROM results WHERE nonce = $1", nonce).affected_rows() > 0;
    transaction.exec_params0(
        "UPDATE requests SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL", now, nonce);
    transaction.exec_params0("DELETE FROM bundles WHERE nonce = $1", nonce);
    transaction.commit();
    return held;
  });
}

std::vector<std::string> PostgresRequestStore::known_account_log(const std::string& account_id) {
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::vector<std::string> {
    pqxx::read_transaction transaction(c);
    const pqxx::result rows =
        transaction.exec_params("SELECT log FROM account_logs WHERE account_id = $1", account_id);
    if (rows.empty()) return {};
    return nlohmann::json::parse(rows[0][0].as<std::string>()).get<std::vector<std::string>>();
  });
}

bool PostgresRequestStore::replace_account_log(const std::string& account_id,
                                               std::size_t held_length,
                                               const std::vector<std::string>& log) {
  const std::string text = nlohmann::json(log).dump();
  const auto length = static_cast<std::int64_t>(log.size());
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    // One statement each: the row's length is the compare, so a concurrent writer's
    // longer log is never replaced by one read before it.
    const pqxx::result changed =
        held_length == 0
            ? transaction.exec_params(
                  "INSERT INTO account_logs (account_id, length, log) VALUES ($1, $2, $3) "
                  "ON CONFLICT (account_id) DO NOTHING",
                  account_id, length, text)
            : transaction.exec_params(
                  "UPDATE account_logs SET length = $2, log = $3 "
                  "WHERE account_id = $1 AND length = $4",
                  account_id, length, text, static_cast<std::int64_t>(held_length));
    transaction.commit();
    return changed.affected_rows() > 0;
  });
}

}  // namespace idvault::rp
