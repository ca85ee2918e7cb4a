#include "host/rp/service/sqlite_request_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace idvault::rp {
namespace {

// Created private before SQLite sees it: SQLite would create it with the process umask
// (0644 under the usual 022) and chmod afterwards leaves a window in which another user
// can open it and keep the descriptor. SQLite creates -wal and -shm with this file's mode.
const std::filesystem::path& created_private(const std::filesystem::path& path) {
  if (path == ":memory:") return path;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot open the database " + path.string() + ": " +
                             std::strerror(errno));
  }
  // A store made by an older version, or by hand, is tightened too.
  const int chmod_result = ::fchmod(fd, 0600);
  ::close(fd);
  if (chmod_result != 0)
    throw std::runtime_error("cannot make the database " + path.string() + " private");
  return path;
}

bool has_column(vault::SqliteDatabase& db, const std::string& table, const std::string& column) {
  auto statement = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  statement.bind(1, table).bind(2, column);
  return statement.step();
}

}  // namespace

SqliteRequestStore::SqliteRequestStore(const std::filesystem::path& path)
    : db_(created_private(path), true) {
  // A store from before results were sealed holds them in the clear: they go (secure
  // delete overwrites their pages), their nonces stay spent, the purge takes the requests.
  if (!has_column(db_, "results", "wrapped_key")) {
    db_.execute("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS results;");
  }
  db_.execute(
      "CREATE TABLE IF NOT EXISTS requests (nonce TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
      "  used_at INTEGER, read_token_sha256 TEXT NOT NULL DEFAULT '', picked_up_at INTEGER);"
      "CREATE TABLE IF NOT EXISTS results (nonce TEXT PRIMARY KEY REFERENCES requests(nonce), "
      "  received_at INTEGER NOT NULL, wrapped_key BLOB NOT NULL, report BLOB NOT NULL, "
      "  errors BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS files (nonce TEXT NOT NULL REFERENCES requests(nonce), "
      "  file_id TEXT NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (nonce, file_id));"
      "CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at);"
      "CREATE INDEX IF NOT EXISTS results_received ON results (received_at);"
      "CREATE TABLE IF NOT EXISTS bundles (credentials_sha256 TEXT PRIMARY KEY, "
      "  nonce TEXT NOT NULL, body_sha256 TEXT NOT NULL, lease_until INTEGER NOT NULL, "
      "  status INTEGER, answer TEXT);"
      "CREATE INDEX IF NOT EXISTS bundles_nonce ON bundles (nonce);"
      "CREATE TABLE IF NOT EXISTS account_logs (account_id TEXT PRIMARY KEY, "
      "  length INTEGER NOT NULL, log TEXT NOT NULL);");
  // A store from before read tokens: its rows get none, so no page can read them over HTTP.
  if (!has_column(db_, "requests", "read_token_sha256")) {
    db_.execute(
        "ALTER TABLE requests ADD COLUMN read_token_sha256 TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE requests ADD COLUMN picked_up_at INTEGER;");
  }
}

void SqliteRequestStore::add_request(const std::string& nonce, const std::string& read_token_sha256,
                                     std::int64_t now) {
  std::lock_guard lock(mutex_);
  db_.prepare("INSERT INTO requests (nonce, created_at, read_token_sha256) VALUES (?, ?, ?)")
      .bind(1, nonce)
      .bind(2, now)
      .bind(3, read_token_sha256)
      .run();
}

bool SqliteRequestStore::has_request(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT 1 FROM requests WHERE nonce = ?");
  statement.bind(1, nonce);
  return statement.step();
}

std::optional<IssuedRequest> SqliteRequestStore::request(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(
      "SELECT read_token_sha256, used_at IS NOT NULL, picked_up_at FROM requests WHERE nonce = ?");
  statement.bind(1, nonce);
  if (!statement.step()) return std::nullopt;
  IssuedRequest issued;
  issued.read_token_sha256 = statement.text(0);
  issued.answered = statement.integer(1) != 0;
  if (!statement.is_null(2)) issued.picked_up_at = statement.integer(2);
  return issued;
}

ClaimOutcome SqliteRequestStore::claim_and_store(const std::string& nonce, std::int64_t now,
                                                 std::int64_t max_age_seconds,
                                                 const ReceivedResult& result,
                                                 const std::vector<StoredFile>& files,
                                                 const BundleKey* bundle,
                                                 const BundleOutcome& accepted) {
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  auto lookup = db_.prepare("SELECT created_at, used_at FROM requests WHERE nonce = ?");
  lookup.bind(1, nonce);
  if (!lookup.step()) return ClaimOutcome::unknown;
  if (!lookup.is_null(1)) return ClaimOutcome::replayed;
  if (now - lookup.integer(0) > max_age_seconds) return ClaimOutcome::expired;
  db_.prepare("UPDATE requests SET used_at = ? WHERE nonce = ? AND used_at IS NULL")
      .bind(1, now)
      .bind(2, nonce)
      .run();
  db_.prepare(
         "INSERT INTO results (nonce, received_at, wrapped_key, report, errors) "
         "VALUES (?, ?, ?, ?, ?)")
      .bind(1, nonce)
      .bind(2, now)
      .bind_blob(3, result.wrapped_key)
      .bind_blob(4, result.report)
      .bind_blob(5, result.errors)
      .run();
  for (const auto& file : files) {
    db_.prepare("INSERT OR REPLACE INTO files (nonce, file_id, bytes) VALUES (?, ?, ?)")
        .bind(1, nonce)
        .bind(2, file.file_id)
        .bind_blob(3, file.bytes)
        .run();
  }
  if (bundle != nullptr) {
    db_.prepare(
           "INSERT INTO bundles (credentials_sha256, nonce, body_sha256, lease_until, status, "
           "answer) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (credentials_sha256) DO UPDATE SET "
           "nonce = excluded.nonce, body_sha256 = excluded.body_sha256, status = excluded.status, "
           "answer = excluded.answer")
        .bind(1, bundle->credentials_sha256)
        .bind(2, nonce)
        .bind(3, bundle->body_sha256)
        .bind(4, now)
        .bind(5, static_cast<std::int64_t>(accepted.status))
        .bind(6, accepted.body)
        .run();
  }
  transaction.commit();
  return ClaimOutcome::claimed;
}

BundleBegin SqliteRequestStore::begin_bundle(const BundleKey& bundle, const std::string& nonce,
                                             std::int64_t now, std::int64_t lease_seconds) {
  std::lock_guard lock(mutex_);
  // BEGIN IMMEDIATE: another process on the same file waits, so the look and the lease
  // are one step for every process, as PostgreSQL's upsert is.
  vault::SqliteTransaction transaction(db_);
  auto lookup = db_.prepare(
      "SELECT body_sha256, lease_until, status, answer FROM bundles WHERE credentials_sha256 = ?");
  lookup.bind(1, bundle.credentials_sha256);
  if (lookup.step()) {
    if (lookup.is_null(2)) {
      if (lookup.integer(1) > now) return {BundleState::in_progress, {}};
    } else if (lookup.integer(2) == 200 || lookup.text(0) == bundle.body_sha256) {
      return {BundleState::settled,
              {static_cast<int>(lookup.integer(2)), lookup.is_null(3) ? "" : lookup.text(3)}};
    }
  }
  // New, or its holder's lease ran out, or a refusal of another body: this caller's now.
  db_.prepare(
         "INSERT OR REPLACE INTO bundles (credentials_sha256, nonce, body_sha256, lease_until) "
         "VALUES (?, ?, ?, ?)")
      .bind(1, bundle.credentials_sha256)
      .bind(2, nonce)
      .bind(3, bundle.body_sha256)
      .bind(4, now + lease_seconds)
      .run();
  transaction.commit();
  return {BundleState::leased, {}};
}

void SqliteRequestStore::settle_bundle(const BundleKey& bundle, const BundleOutcome& refused) {
  std::lock_guard lock(mutex_);
  db_.prepare(
         "UPDATE bundles SET status = ?, answer = ? WHERE credentials_sha256 = ? "
         "AND body_sha256 = ? AND status IS NULL")
      .bind(1, static_cast<std::int64_t>(refused.status))
      .bind(2, refused.body)
      .bind(3, bundle.credentials_sha256)
      .bind(4, bundle.body_sha256)
      .run();
}

void SqliteRequestStore::release_bundle(const BundleKey& bundle) {
  std::lock_guard lock(mutex_);
  db_.prepare(
         "DELETE FROM bundles WHERE credentials_sha256 = ? AND body_sha256 = ? "
         "AND status IS NULL")
      .bind(1, bundle.credentials_sha256)
      .bind(2, bundle.body_sha256)
      .run();
}

std::optional<ReceivedResult> SqliteRequestStore::pick_up(const std::string& nonce,
                                                          std::int64_t now) {
  {
    std::lock_guard lock(mutex_);
    db_.prepare("UPDATE requests SET picked_up_at = ? WHERE nonce = ? AND picked_up_at IS NULL")
        .bind(1, now)
        .bind(2, nonce)
        .run();
  }
  return result(nonce);
}

std::optional<ReceivedResult> SqliteRequestStore::result(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto statement =
      db_.prepare("SELECT wrapped_key, report, errors, received_at FROM results WHERE nonce = ?");
  statement.bind(1, nonce);
  if (!statement.step()) return std::nullopt;
  return ReceivedResult{statement.blob(0), statement.blob(1), statement.blob(2),
                        statement.integer(3)};
}

std::optional<SealedFile> SqliteRequestStore::file(const std::string& nonce,
                                                   const std::string& file_id) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(
      "SELECT results.wrapped_key, files.bytes FROM files JOIN results USING (nonce) "
      "WHERE files.nonce = ? AND files.file_id = ?");
  statement.bind(1, nonce).bind(2, file_id);
  if (!statement.step()) return std::nullopt;
  return SealedFile{statement.blob(0), statement.blob(1)};
}

std::size_t SqliteRequestStore::purge(std::int64_t now, const RetentionPolicy& policy) {
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const std::int64_t results_before = now - policy.result_keep;
  db_.prepare("DELETE FROM files WHERE nonce IN (SELECT nonce FROM results WHERE received_at < ?)")
      .bind(1, results_before)
      .run();
  db_.prepare("DELETE FROM results WHERE received_at < ?").bind(1, results_before).run();
  // An answered request goes with its result; foreign keys want the result gone first.
  db_.prepare(
         "DELETE FROM requests WHERE (used_at IS NULL AND created_at < ?) OR "
         "(used_at IS NOT NULL AND nonce NOT IN (SELECT nonce FROM results))")
      .bind(1, now - policy.request_lifetime)
      .run();
  const auto purged = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
  db_.execute("DELETE FROM bundles WHERE nonce NOT IN (SELECT nonce FROM requests)");
  transaction.commit();
  return purged;
}

bool SqliteRequestStore::forget(const std::string& nonce, std::int64_t now) {
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  db_.prepare("DELETE FROM files WHERE nonce = ?").bind(1, nonce).run();
  db_.prepare("DELETE FROM results WHERE nonce = ?").bind(1, nonce).run();
  const bool held = sqlite3_changes(db_.handle()) > 0;
  db_.prepare("DELETE FROM bundles WHERE nonce = ?").bind(1, nonce).run();
  db_.prepare("UPDATE requests SET used_at = ? WHERE nonce = ? AND used_at IS NULL")
      .bind(1, now)
      .bind(2, nonce)
      .run();
  transaction.commit();
  return held;
}

std::vector<std::string> SqliteRequestStore::known_account_log(const std::string& account_id) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT log FROM account_logs WHERE account_id = ?");
  statement.bind(1, account_id);
  if (!statement.step()) return {};
  return nlohmann::json::parse(statement.text(0)).get<std::vector<std::string>>();
}

bool SqliteRequestStore::replace_account_log(const std::string& account_id, std::size_t held_length,
                                             const std::vector<std::string>& log) {
  std::lock_guard lock(mutex_);
  const std::string text = nlohmann::json(log).dump();
  if (held_length == 0) {
    db_.prepare(
           "INSERT INTO account_logs (account_id, length, log) VALUES (?, ?, ?) "
           "ON CONFLICT (account_id) DO NOTHING")
        .bind(1, account_id)
        .bind(2, static_cast<std::int64_t>(log.size()))
        .bind(3, text)
        .run();
  } else {
    db_.prepare("UPDATE account_logs SET length = ?, log = ? WHERE account_id = ? AND length = ?")
        .bind(1, static_cast<std::int64_t>(log.size()))
        .bind(2, text)
        .bind(3, account_id)
        .bind(4, static_cast<std::int64_t>(held_length))
        .run();
  }
  return sqlite3_changes(db_.handle()) > 0;
}

}  // namespace idvault::rp
