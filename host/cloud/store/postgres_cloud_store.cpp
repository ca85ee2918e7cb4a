#include "host/cloud/store/postgres_cloud_store.h"

#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <utility>

#include "host/cloud/store/postgres_access.h"
#include "host/cloud/store/store_rules.h"
#include "host/postgres/connection_pool.h"

namespace idvault::cloud {

namespace {

using pg::AccountRow;
using pg::locked_account;
using pg::Pool;
using pg::repeatable_write;
using pg::require_account;
using pg::unknown;
using pg::with_connection;
using postgres::bytea;
using postgres::bytes_of;

// Whether a write lost in doubt landed, read behind the account's row lock, which waits
// for the old transaction if its server process is still finishing it.
template <class Check>
bool landed(Pool& pool, const std::string& account, Check&& check) {
  return with_connection(pool, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    (void)transaction.exec_params("SELECT 1 FROM accounts WHERE account = $1 FOR UPDATE", account);
    const bool found = check(transaction);
    transaction.commit();
    return found;
  });
}

std::int64_t record_change(pqxx::work& transaction, const std::string& account,
                           const AccountRow& row, ChangeKind kind, const std::string& id,
                           std::int64_t bytes_delta, std::int64_t log_delta) {
  const std::int64_t counter = row.counter + 1;
  transaction.exec_params0(
      "UPDATE accounts SET counter = $1, bytes_used = bytes_used + $2, "
      "log_length = log_length + $3 WHERE account = $4",
      counter, bytes_delta, log_delta, account);
  transaction.exec_params0(
      "INSERT INTO changes (account, kind, id, counter) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (account, kind, id) DO UPDATE SET counter = EXCLUDED.counter",
      account, std::string(to_string(kind)), id, counter);
  return counter;
}

ChangeKind kind_named(const std::string& name) {
  for (const ChangeKind kind :
       {ChangeKind::log, ChangeKind::slot, ChangeKind::item, ChangeKind::file})
    if (to_string(kind) == name) return kind;
  throw std::runtime_error("the store holds a change of an unknown kind");
}

// Several server processes may start at once: the advisory lock lets one create the tables.
constexpr const char* kSchema =
    "SELECT pg_advisory_xact_lock(7310494375216431618);"
    "CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY,"
    "  log_length BIGINT NOT NULL, counter BIGINT NOT NULL, bytes_used BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_entries (account TEXT NOT NULL REFERENCES accounts,"
    "  seq BIGINT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (account, seq));"
    "CREATE TABLE IF NOT EXISTS slots (account TEXT NOT NULL REFERENCES accounts,"
    "  slot_id TEXT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (account, slot_id));"
    "CREATE TABLE IF NOT EXISTS items (account TEXT NOT NULL REFERENCES accounts,"
    "  item_id TEXT NOT NULL, revision TEXT NOT NULL, parent_revision TEXT NOT NULL,"
    "  deleted BOOLEAN NOT NULL, bytes BYTEA NOT NULL, counter BIGINT NOT NULL,"
    "  PRIMARY KEY (account, item_id));"
    "CREATE TABLE IF NOT EXISTS files (account TEXT NOT NULL REFERENCES accounts,"
    "  sha256 TEXT NOT NULL, size BIGINT NOT NULL, bytes BYTEA NOT NULL,"
    "  PRIMARY KEY (account, sha256));"
    "CREATE TABLE IF NOT EXISTS changes (account TEXT NOT NULL REFERENCES accounts,"
    "  kind TEXT NOT NULL, id TEXT NOT NULL, counter BIGINT NOT NULL,"
    "  PRIMARY KEY (account, kind, id));"
    "CREATE INDEX IF NOT EXISTS changes_by_counter ON changes (account, counter);"
    "CREATE TABLE IF NOT EXISTS nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL,"
    "  expires_at BIGINT NOT NULL, PRIMARY KEY (device_id, nonce));"
    "CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at);"
    "CREATE TABLE IF NOT EXISTS join_requests (account TEXT NOT NULL REFERENCES accounts,"
    "  id TEXT NOT NULL, device_id TEXT NOT NULL, identity_key BYTEA NOT NULL,"
    "  slot_key BYTEA NOT NULL, nonce TEXT NOT NULL, created BIGINT NOT NULL,"
    "  expires BIGINT NOT NULL, PRIMARY KEY (account, id));"
    "CREATE INDEX IF NOT EXISTS join_requests_by_expiry ON join_requests (expires);"
    "CREATE TABLE IF NOT EXISTS recovery_keys (account TEXT PRIMARY KEY REFERENCES accounts,"
    "  envelope BYTEA NOT NULL);";

}  // namespace

PostgresCloudStore::PostgresCloudStore(const std::string& uri, const CloudLimits& limits,
                                       std::size_t connections)
    : limits_(limits), pool_(std::make_unique<Pool>(uri, connections)) {
  with_connection(*pool_, [](pqxx::connection& c) {
    pqxx::work transaction(c);
    transaction.exec(kSchema);
    transaction.commit();
  });
}

PostgresCloudStore::~PostgresCloudStore() = default;

void PostgresCloudStore::create_account(const std::string& account,
                                        std::span<const std::uint8_t> genesis) {
  rules::check_account(account);
  rules::check_quota(0, rules::size_of(genesis), limits_);
  try {
    with_connection(*pool_, [&](pqxx::connection& c) {
      pqxx::work transaction(c);
      // Of two racing creators one inserts; the other waits for its commit and finds the row.
      const pqxx::result made = transaction.exec_params(
          "INSERT INTO accounts (account, log_length, counter, bytes_used) "
          "VALUES ($1, 0, 0, 0) ON CONFLICT (account) DO NOTHING RETURNING 1",
          account);
      if (made.empty()) throw AccountExists("the account " + account + " exists already");
      (void)record_change(transaction, account, AccountRow{}, ChangeKind::log, "0",
                          rules::size_of(genesis), 1);
      transaction.exec_params0("INSERT INTO log_entries (account, seq, bytes) VALUES ($1, 0, $2)",
                               account, bytea(genesis));
      transaction.commit();
    });
  } catch (const pqxx::in_doubt_error&) {
    const bool made = landed(*pool_, account, [&](pqxx::work& transaction) {
      return !transaction
                  .exec_params(
                      "SELECT 1 FROM log_entries WHERE account = $1 AND seq = 0 AND bytes = $2",
                      account, bytea(genesis))
                  .empty();
    });
    if (!made) throw StoreUnavailable("PostgreSQL lost the account's commit; it was not created");
  }
}

bool PostgresCloudStore::has_account(const std::string& account) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    return !transaction.exec_params("SELECT 1 FROM accounts WHERE account = $1", account).empty();
  });
}

std::optional<LogConflict> PostgresCloudStore::append_log_entry(
    const std::string& account, std::int64_t seq, std::span<const std::uint8_t> bytes) {
  rules::check_account(account);
  rules::check_seq(seq);
  try {
    return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<LogConflict> {
      pqxx::work transaction(c);
      const AccountRow row = locked_account(transaction, account);
      if (seq != row.log_length) return LogConflict{row.log_length};
      rules::check_quota(row.bytes_used, rules::size_of(bytes), limits_);
      (void)record_change(transaction, account, row, ChangeKind::log, std::to_string(seq),
                          rules::size_of(bytes), 1);
      transaction.exec_params0("INSERT INTO log_entries (account, seq, bytes) VALUES ($1, $2, $3)",
                               account, seq, bytea(bytes));
      transaction.commit();
      return std::nullopt;
    });
  } catch (const pqxx::in_doubt_error&) {
    const bool appended = landed(*pool_, account, [&](pqxx::work& transaction) {
      return !transaction
                  .exec_params(
                      "SELECT 1 FROM log_entries WHERE account = $1 AND seq = $2 AND bytes = $3",
                      account, seq, bytea(bytes))
                  .empty();
    });
    if (appended) return std::nullopt;
    throw StoreUnavailable("PostgreSQL lost the log entry's commit; it was not appended");
  }
}

std::vector<LogEntry> PostgresCloudStore::log(const std::string& account, std::int64_t from_seq) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        "SELECT seq, bytes FROM log_entries WHERE account = $1 AND seq >= $2 ORDER BY seq", account,
        from_seq);
    std::vector<LogEntry> entries;
    for (const auto& row : rows) entries.push_back({row[0].as<std::int64_t>(), bytes_of(row[1])});
    return entries;
  });
}

void PostgresCloudStore::put_slot(const std::string& account, const std::string& slot_id,
                                  std::span<const std::uint8_t> bytes) {
  rules::check_account(account);
  rules::check_name("a slot id", slot_id);
  repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const AccountRow row = locked_account(transaction, account);
    const pqxx::result old = transaction.exec_params(
        "SELECT length(bytes) FROM slots WHERE account = $1 AND slot_id = $2", account, slot_id);
    const std::int64_t delta =
        rules::size_of(bytes) - (old.empty() ? 0 : old[0][0].as<std::int64_t>());
    rules::check_quota(row.bytes_used, delta, limits_);
    (void)record_change(transaction, account, row, ChangeKind::slot, slot_id, delta, 0);
    transaction.exec_params0(
        "INSERT INTO slots (account, slot_id, bytes) VALUES ($1, $2, $3) "
        "ON CONFLICT (account, slot_id) DO UPDATE SET bytes = EXCLUDED.bytes",
        account, slot_id, bytea(bytes));
    transaction.commit();
  });
}

bool PostgresCloudStore::remove_slot(const std::string& account, const std::string& slot_id) {
  rules::check_account(account);
  rules::check_name("a slot id", slot_id);
  return repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const AccountRow row = locked_account(transaction, account);
    const pqxx::result removed = transaction.exec_params(
        "DELETE FROM slots WHERE account = $1 AND slot_id = $2 RETURNING length(bytes)", account,
        slot_id);
    if (removed.empty()) return false;
    (void)record_change(transaction, account, row, ChangeKind::slot, slot_id,
                        -removed[0][0].as<std::int64_t>(), 0);
    transaction.commit();
    return true;
  });
}

std::vector<KeySlot> PostgresCloudStore::slots(const std::string& account) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        "SELECT slot_id, bytes FROM slots WHERE account = $1 ORDER BY slot_id", account);
    std::vector<KeySlot> found;
    for (const auto& row : rows) found.push_back({row[0].as<std::string>(), bytes_of(row[1])});
    return found;
  });
}

std::optional<ItemConflict> PostgresCloudStore::put_item(const std::string& account,
                                                         const ItemWrite& write) {
  rules::check_account(account);
  rules::check_item_write(write);
  try {
    return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<ItemConflict> {
      pqxx::work transaction(c);
      const AccountRow row = locked_account(transaction, account);
      const pqxx::result stored = transaction.exec_params(
          "SELECT revision, deleted, length(bytes) FROM items WHERE account = $1 AND item_id = $2",
          account, write.item_id);
      std::int64_t old_size = 0;
      if (!stored.empty()) {
        const auto current = stored[0][0].as<std::string>();
        if (current != write.parent_revision) return ItemConflict{current, stored[0][1].as<bool>()};
        old_size = stored[0][2].as<std::int64_t>();
      } else if (!write.parent_revision.empty()) {
        return ItemConflict{};
      }
      const std::int64_t delta = rules::size_of(write.bytes) - old_size;
      rules::check_quota(row.bytes_used, delta, limits_);
      const std::int64_t counter =
          record_change(transaction, account, row, ChangeKind::item, write.item_id, delta, 0);
      transaction.exec_params0(
          "INSERT INTO items (account, item_id, revision, parent_revision, deleted, bytes, "
          "counter) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, item_id) DO UPDATE "
          "SET revision = EXCLUDED.revision, parent_revision = EXCLUDED.parent_revision, "
          "deleted = EXCLUDED.deleted, bytes = EXCLUDED.bytes, counter = EXCLUDED.counter",
          account, write.item_id, write.revision, write.parent_revision, write.deleted,
          bytea(write.bytes), counter);
      transaction.commit();
      return std::nullopt;
    });
  } catch (const pqxx::in_doubt_error&) {
    const bool written = landed(*pool_, account, [&](pqxx::work& transaction) {
      return !transaction
                  .exec_params(
                      "SELECT 1 FROM items WHERE account = $1 AND item_id = $2 AND revision = $3 "
                      "AND parent_revision = $4",
                      account, write.item_id, write.revision, write.parent_revision)
                  .empty();
    });
    if (written) return std::nullopt;
    throw StoreUnavailable("PostgreSQL lost the item's commit; it was not written");
  }
}

std::optional<StoredItem> PostgresCloudStore::item(const std::string& account,
                                                   const std::string& item_id) {
  rules::check_account(account);
  rules::check_name("an item id", item_id);
  return with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<StoredItem> {
    pqxx::read_transaction transaction(c);
    require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        "SELECT revision, parent_revision, bytes, deleted, counter FROM items "
        "WHERE account = $1 AND item_id = $2",
        account, item_id);
    if (rows.empty()) return std::nullopt;
    return StoredItem{item_id,
                      rows[0][0].as<std::string>(),
                      rows[0][1].as<std::string>(),
                      bytes_of(rows[0][2]),
                      rows[0][3].as<bool>(),
                      rows[0][4].as<std::int64_t>()};
  });
}

void PostgresCloudStore::put_file(const std::string& account, const std::string& sha256,
                                  std::span<const std::uint8_t> bytes) {
  rules::check_account(account);
  rules::check_file(sha256, bytes);
  repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const AccountRow row = locked_account(transaction, account);
    if (!transaction
             .exec_params("SELECT 1 FROM files WHERE account = $1 AND sha256 = $2", account, sha256)
             .empty())
      return;
    rules::check_quota(row.bytes_used, rules::size_of(bytes), limits_);
    (void)record_change(transaction, account, row, ChangeKind::file, sha256, rules::size_of(bytes),
                        0);
    transaction.exec_params0(
        "INSERT INTO files (account, sha256, size, bytes) VALUES ($1, $2, $3, $4)", account, sha256,
        rules::size_of(bytes), bytea(bytes));
    transaction.commit();
  });
}

// PostgreSQL keeps a file in its row: the upload waits in a temporary (outside the
// server's memory) until it is whole and checked, and is read back for the insert.
std::unique_ptr<IncomingFile> PostgresCloudStore::receive_file(const std::string& account,
                                                               const std::string& sha256,
                                                               std::uint64_t size) {
  rules::check_account(account);
  if (!valid_sha256_hex(sha256))
    throw std::invalid_argument("a file is named by the 64 lowercase hex digits of its SHA-256");
  const bool stored = with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    const pqxx::result row =
        transaction.exec_params("SELECT bytes_used FROM accounts WHERE account = $1", account);
    if (row.empty()) unknown(account);
    if (!transaction
             .exec_params("SELECT 1 FROM files WHERE account = $1 AND sha256 = $2", account, sha256)
             .empty())
      return true;
    rules::check_quota(row[0][0].as<std::int64_t>(), static_cast<std::int64_t>(size), limits_);
    return false;
  });
  if (stored) return std::make_unique<IncomingFile>();
  return std::make_unique<IncomingFile>(std::filesystem::temp_directory_path());
}

void PostgresCloudStore::put_file(const std::string& account, const std::string& sha256,
                                  IncomingFile& file) {
  if (file.sha256_hex() != sha256)
    throw FileHashMismatch("the file's bytes do not hash to the SHA-256 it was sent under");
  if (!file.kept()) return;  // stored already when the upload began
  const std::vector<std::uint8_t> bytes = file.read_back();
  put_file(account, sha256, bytes);
}

std::optional<std::filesystem::path> PostgresCloudStore::file_on_disk(const std::string&,
                                                                      const std::string&) {
  return std::nullopt;
}

bool PostgresCloudStore::has_file(const std::string& account, const std::string& sha256) {
  rules::check_account(account);
  if (!valid_sha256_hex(sha256)) return false;
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    require_account(transaction, account);
    return !transaction
                .exec_params("SELECT 1 FROM files WHERE account = $1 AND sha256 = $2", account,
                             sha256)
                .empty();
  });
}

std::optional<std::vector<std::uint8_t>> PostgresCloudStore::file(const std::string& account,
                                                                  const std::string& sha256) {
  rules::check_account(account);
  if (!valid_sha256_hex(sha256)) return std::nullopt;
  return with_connection(
      *pool_, [&](pqxx::connection& c) -> std::optional<std::vector<std::uint8_t>> {
        pqxx::read_transaction transaction(c);
        require_account(transaction, account);
        const pqxx::result rows = transaction.exec_params(
            "SELECT bytes FROM files WHERE account = $1 AND sha256 = $2", account, sha256);
        if (rows.empty()) return std::nullopt;
        return bytes_of(rows[0][0]);
      });
}

std::vector<Change> PostgresCloudStore::changes_since(const std::string& account,
                                                      std::int64_t after, std::size_t limit) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        "SELECT kind, id, counter FROM changes WHERE account = $1 AND counter > $2 "
        "ORDER BY counter LIMIT $3",
        account, after, rules::row_limit(limit));
    std::vector<Change> changes;
    for (const auto& row : rows)
      changes.push_back({kind_named(row[0].as<std::string>()), row[1].as<std::string>(),
                         row[2].as<std::int64_t>()});
    return changes;
  });
}

std::int64_t PostgresCloudStore::counter(const std::string& account) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    const pqxx::result row =
        transaction.exec_params("SELECT counter FROM accounts WHERE account = $1", account);
    if (row.empty()) unknown(account);
    return row[0][0].as<std::int64_t>();
  });
}

std::int64_t PostgresCloudStore::bytes_used(const std::string& account) {
  rules::check_account(account);
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    const pqxx::result row =
        transaction.exec_params("SELECT bytes_used FROM accounts WHERE account = $1", account);
    if (row.empty()) unknown(account);
    return row[0][0].as<std::int64_t>();
  });
}

bool PostgresCloudStore::remember_nonce(const std::string& device_id, const std::string& nonce,
                                        std::int64_t expires_at, std::int64_t now) {
  rules::check_name("a device id", device_id);
  rules::check_name("a nonce", nonce);
  // A nonce that was remembered before the commit went in doubt reads as a replay the
  // second time: the request is refused and the client signs a new one.
  return repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    // Racing sightings of one nonce: one inserts, the other waits for its commit and then
    // finds it unexpired, so exactly one request is let through.
    const pqxx::result fresh = transaction.exec_params(
        "INSERT INTO nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at "
        "WHERE nonces.expires_at <= $4 RETURNING 1",
        device_id, nonce, expires_at, now);
    transaction.commit();
    return !fresh.empty();
  });
}

std::size_t PostgresCloudStore::purge_nonces(std::int64_t now) {
  return with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const pqxx::result purged =
        transaction.exec_params0("DELETE FROM nonces WHERE expires_at <= $1", now);
    transaction.commit();
    return static_cast<std::size_t>(purged.affected_rows());
  });
}

}  // namespace idvault::cloud
