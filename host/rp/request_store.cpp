#include "host/rp/request_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

}  // namespace

RequestStore::RequestStore(const std::filesystem::path& path) : db_(created_private(path), true) {
  db_.execute(
      "CREATE TABLE IF NOT EXISTS requests (nonce TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
      "  used_at INTEGER);"
      "CREATE TABLE IF NOT EXISTS results (nonce TEXT PRIMARY KEY REFERENCES requests(nonce), "
      "  received_at INTEGER NOT NULL, report TEXT NOT NULL, errors TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS files (nonce TEXT NOT NULL REFERENCES requests(nonce), "
      "  file_id TEXT NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (nonce, file_id));");
}

void RequestStore::add_request(const std::string& nonce, std::int64_t now) {
  std::lock_guard lock(mutex_);
  db_.prepare("INSERT INTO requests (nonce, created_at) VALUES (?, ?)")
      .bind(1, nonce)
      .bind(2, now)
      .run();
}

bool RequestStore::has_request(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT 1 FROM requests WHERE nonce = ?");
  statement.bind(1, nonce);
  return statement.step();
}

ClaimOutcome RequestStore::claim_and_store(const std::string& nonce, std::int64_t now,
                                           std::int64_t max_age_seconds,
                                           const ReceivedResult& result,
                                           const std::vector<StoredFile>& files) {
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
  db_.prepare("INSERT INTO results (nonce, received_at, report, errors) VALUES (?, ?, ?, ?)")
      .bind(1, nonce)
      .bind(2, now)
      .bind(3, result.report_json)
      .bind(4, result.errors_json)
      .run();
  for (const auto& file : files) {
    db_.prepare("INSERT OR REPLACE INTO files (nonce, file_id, bytes) VALUES (?, ?, ?)")
        .bind(1, nonce)
        .bind(2, file.file_id)
        .bind_blob(3, file.bytes)
        .run();
  }
  transaction.commit();
  return ClaimOutcome::claimed;
}

std::optional<ReceivedResult> RequestStore::result(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT report, errors, received_at FROM results WHERE nonce = ?");
  statement.bind(1, nonce);
  if (!statement.step()) return std::nullopt;
  return ReceivedResult{statement.text(0), statement.text(1), statement.integer(2)};
}

std::optional<std::vector<std::uint8_t>> RequestStore::file(const std::string& nonce,
                                                            const std::string& file_id) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT bytes FROM files WHERE nonce = ? AND file_id = ?");
  statement.bind(1, nonce).bind(2, file_id);
  if (!statement.step()) return std::nullopt;
  return statement.blob(0);
}

}  // namespace idvault::rp
