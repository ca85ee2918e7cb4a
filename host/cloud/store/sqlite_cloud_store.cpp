#include "host/cloud/store/sqlite_cloud_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "host/cloud/store/store_rules.h"

namespace idvault::cloud {
namespace {

// errno's text through generic_category: strerror() is not thread-safe, and the server
// stores from several threads.
[[noreturn]] void fail_io(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("cannot " + what + " " + path.string() + ": " +
                           std::generic_category().message(errno));
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;  // closed exactly once
  Descriptor& operator=(const Descriptor&) = delete;
  Descriptor(Descriptor&&) = delete;
  Descriptor& operator=(Descriptor&&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// A folder made 0700 (mkdir's mode, so never wider for a moment), or one that exists
// tightened to 0700; a symbolic link in its place is refused. Returns whether it was new.
bool private_folder(const std::filesystem::path& folder) {
  const bool made = ::mkdir(folder.c_str(), 0700) == 0;
  if (!made && errno != EEXIST) fail_io("create the folder", folder);
  const Descriptor fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) fail_io("open the folder", folder);
  if (::fchmod(fd.get(), 0700) != 0) fail_io("make private the folder", folder);
  return made;
}

// The data directory made private and cloud.db created 0600 before SQLite opens it:
// SQLite would create it with the umask's mode, and a later chmod leaves a window.
std::filesystem::path prepared_database(const std::filesystem::path& data_dir) {
  private_folder(data_dir);
  std::filesystem::path path = data_dir / "cloud.db";
  Descriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail_io("open the database", path);
  if (::fchmod(fd.get(), 0600) != 0) fail_io("make private the database", path);
  return path;
}

std::vector<std::uint8_t> read_whole(const std::filesystem::path& path) {
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) fail_io("open the stored file", path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail_io("read the stored file", path);
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

ChangeKind kind_named(const std::string& name) {
  for (const ChangeKind kind :
       {ChangeKind::log, ChangeKind::slot, ChangeKind::item, ChangeKind::file})
    if (to_string(kind) == name) return kind;
  throw std::runtime_error("the store holds a change of an unknown kind");
}

}  // namespace

SqliteCloudStore::SqliteCloudStore(const std::filesystem::path& data_dir, const CloudLimits& limits)
    : files_(data_dir / "files"), limits_(limits), db_(prepared_database(data_dir), true) {
  private_folder(files_);
  remove_incoming_leftovers(files_);
  db_.execute(
      "CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, "
      "  log_length INTEGER NOT NULL, counter INTEGER NOT NULL, bytes_used INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS log_entries (account TEXT NOT NULL REFERENCES accounts, "
      "  seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (account, seq));"
      "CREATE TABLE IF NOT EXISTS slots (account TEXT NOT NULL REFERENCES accounts, "
      "  slot_id TEXT NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (account, slot_id));"
      "CREATE TABLE IF NOT EXISTS items (account TEXT NOT NULL REFERENCES accounts, "
      "  item_id TEXT NOT NULL, revision TEXT NOT NULL, parent_revision TEXT NOT NULL, "
      "  deleted INTEGER NOT NULL, bytes BLOB NOT NULL, counter INTEGER NOT NULL, "
      "  PRIMARY KEY (account, item_id));"
      "CREATE TABLE IF NOT EXISTS files (account TEXT NOT NULL REFERENCES accounts, "
      "  sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (account, sha256));"
      "CREATE TABLE IF NOT EXISTS changes (account TEXT NOT NULL REFERENCES accounts, "
      "  kind TEXT NOT NULL, id TEXT NOT NULL, counter INTEGER NOT NULL, "
      "  PRIMARY KEY (account, kind, id));"
      "CREATE INDEX IF NOT EXISTS changes_by_counter ON changes (account, counter);"
      "CREATE TABLE IF NOT EXISTS nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL, "
      "  expires_at INTEGER NOT NULL, PRIMARY KEY (device_id, nonce));"
      "CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at);"
      "CREATE TABLE IF NOT EXISTS join_requests (account TEXT NOT NULL REFERENCES accounts, "
      "  id TEXT NOT NULL, device_id TEXT NOT NULL, identity_key BLOB NOT NULL, "
      "  slot_key BLOB NOT NULL, nonce TEXT NOT NULL, created INTEGER NOT NULL, "
      "  expires INTEGER NOT NULL, PRIMARY KEY (account, id));"
      "CREATE INDEX IF NOT EXISTS join_requests_by_expiry ON join_requests (expires);"
      "CREATE TABLE IF NOT EXISTS recovery_keys (account TEXT PRIMARY KEY REFERENCES accounts, "
      "  envelope BLOB NOT NULL);");
}

std::filesystem::path SqliteCloudStore::file_path(const std::string& account,
                                                  const std::string& sha256) const {
  return files_ / account / sha256;
}

SqliteCloudStore::AccountRow SqliteCloudStore::account_row(const std::string& account) {
  auto statement =
      db_.prepare("SELECT log_length, counter, bytes_used FROM accounts WHERE account = ?");
  statement.bind(1, account);
  if (!statement.step()) throw UnknownAccount("no account " + account + " on this server");
  return {statement.integer(0), statement.integer(1), statement.integer(2)};
}

std::int64_t SqliteCloudStore::record_change(const std::string& account, const AccountRow& row,
                                             ChangeKind kind, const std::string& id,
                                             std::int64_t bytes_delta, std::int64_t log_delta) {
  const std::int64_t counter = row.counter + 1;
  db_.prepare(
         "UPDATE accounts SET counter = ?, bytes_used = bytes_used + ?, "
         "log_length = log_length + ? WHERE account = ?")
      .bind(1, counter)
      .bind(2, bytes_delta)
      .bind(3, log_delta)
      .bind(4, account)
      .run();
  db_.prepare(
         "INSERT INTO changes (account, kind, id, counter) VALUES (?, ?, ?, ?) "
         "ON CONFLICT (account, kind, id) DO UPDATE SET counter = excluded.counter")
      .bind(1, account)
      .bind(2, to_string(kind))
      .bind(3, id)
      .bind(4, counter)
      .run();
  return counter;
}

void SqliteCloudStore::create_account(const std::string& account,
                                      std::span<const std::uint8_t> genesis) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  auto existing = db_.prepare("SELECT 1 FROM accounts WHERE account = ?");
  existing.bind(1, account);
  if (existing.step()) throw AccountExists("the account " + account + " exists already");
  rules::check_quota(0, rules::size_of(genesis), limits_);
  db_.prepare("INSERT INTO accounts (account, log_length, counter, bytes_used) VALUES (?, 0, 0, 0)")
      .bind(1, account)
      .run();
  (void)record_change(account, AccountRow{}, ChangeKind::log, "0", rules::size_of(genesis), 1);
  db_.prepare("INSERT INTO log_entries (account, seq, bytes) VALUES (?, 0, ?)")
      .bind(1, account)
      .bind_blob(2, genesis)
      .run();
  transaction.commit();
}

bool SqliteCloudStore::has_account(const std::string& account) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT 1 FROM accounts WHERE account = ?");
  statement.bind(1, account);
  return statement.step();
}

std::optional<LogConflict> SqliteCloudStore::append_log_entry(const std::string& account,
                                                              std::int64_t seq,
                                                              std::span<const std::uint8_t> bytes) {
  rules::check_account(account);
  rules::check_seq(seq);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const AccountRow row = account_row(account);
  if (seq != row.log_length) return LogConflict{row.log_length};
  rules::check_quota(row.bytes_used, rules::size_of(bytes), limits_);
  (void)record_change(account, row, ChangeKind::log, std::to_string(seq), rules::size_of(bytes), 1);
  db_.prepare("INSERT INTO log_entries (account, seq, bytes) VALUES (?, ?, ?)")
      .bind(1, account)
      .bind(2, seq)
      .bind_blob(3, bytes)
      .run();
  transaction.commit();
  return std::nullopt;
}

std::vector<LogEntry> SqliteCloudStore::log(const std::string& account, std::int64_t from_seq) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto statement =
      db_.prepare("SELECT seq, bytes FROM log_entries WHERE account = ? AND seq >= ? ORDER BY seq");
  statement.bind(1, account).bind(2, from_seq);
  std::vector<LogEntry> entries;
  while (statement.step()) entries.push_back({statement.integer(0), statement.blob(1)});
  return entries;
}

void SqliteCloudStore::put_slot(const std::string& account, const std::string& slot_id,
                                std::span<const std::uint8_t> bytes) {
  rules::check_account(account);
  rules::check_name("a slot id", slot_id);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const AccountRow row = account_row(account);
  auto old = db_.prepare("SELECT length(bytes) FROM slots WHERE account = ? AND slot_id = ?");
  old.bind(1, account).bind(2, slot_id);
  const std::int64_t delta = rules::size_of(bytes) - (old.step() ? old.integer(0) : 0);
  rules::check_quota(row.bytes_used, delta, limits_);
  (void)record_change(account, row, ChangeKind::slot, slot_id, delta, 0);
  db_.prepare("INSERT OR REPLACE INTO slots (account, slot_id, bytes) VALUES (?, ?, ?)")
      .bind(1, account)
      .bind(2, slot_id)
      .bind_blob(3, bytes)
      .run();
  transaction.commit();
}

bool SqliteCloudStore::remove_slot(const std::string& account, const std::string& slot_id) {
  rules::check_account(account);
  rules::check_name("a slot id", slot_id);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const AccountRow row = account_row(account);
  auto old = db_.prepare("SELECT length(bytes) FROM slots WHERE account = ? AND slot_id = ?");
  old.bind(1, account).bind(2, slot_id);
  if (!old.step()) return false;
  (void)record_change(account, row, ChangeKind::slot, slot_id, -old.integer(0), 0);
  db_.prepare("DELETE FROM slots WHERE account = ? AND slot_id = ?")
      .bind(1, account)
      .bind(2, slot_id)
      .run();
  transaction.commit();
  return true;
}

std::vector<KeySlot> SqliteCloudStore::slots(const std::string& account) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto statement =
      db_.prepare("SELECT slot_id, bytes FROM slots WHERE account = ? ORDER BY slot_id");
  statement.bind(1, account);
  std::vector<KeySlot> found;
  while (statement.step()) found.push_back({statement.text(0), statement.blob(1)});
  return found;
}

std::optional<ItemConflict> SqliteCloudStore::put_item(const std::string& account,
                                                       const ItemWrite& write) {
  rules::check_account(account);
  rules::check_item_write(write);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const AccountRow row = account_row(account);
  auto stored = db_.prepare(
      "SELECT revision, deleted, length(bytes) FROM items WHERE account = ? AND item_id = ?");
  stored.bind(1, account).bind(2, write.item_id);
  std::int64_t old_size = 0;
  if (stored.step()) {
    if (stored.text(0) != write.parent_revision)
      return ItemConflict{stored.text(0), stored.integer(1) != 0};
    old_size = stored.integer(2);
  } else if (!write.parent_revision.empty()) {
    return ItemConflict{};
  }
  const std::int64_t delta = rules::size_of(write.bytes) - old_size;
  rules::check_quota(row.bytes_used, delta, limits_);
  const std::int64_t counter =
      record_change(account, row, ChangeKind::item, write.item_id, delta, 0);
  db_.prepare(
         "INSERT OR REPLACE INTO items (account, item_id, revision, parent_revision, deleted, "
         "bytes, counter) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, account)
      .bind(2, write.item_id)
      .bind(3, write.revision)
      .bind(4, write.parent_revision)
      .bind(5, std::int64_t{write.deleted ? 1 : 0})
      .bind_blob(6, write.bytes)
      .bind(7, counter)
      .run();
  transaction.commit();
  return std::nullopt;
}

std::optional<StoredItem> SqliteCloudStore::item(const std::string& account,
                                                 const std::string& item_id) {
  rules::check_account(account);
  rules::check_name("an item id", item_id);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto statement = db_.prepare(
      "SELECT revision, parent_revision, bytes, deleted, counter FROM items "
      "WHERE account = ? AND item_id = ?");
  statement.bind(1, account).bind(2, item_id);
  if (!statement.step()) return std::nullopt;
  return StoredItem{item_id,           statement.text(0),         statement.text(1),
                    statement.blob(2), statement.integer(3) != 0, statement.integer(4)};
}

void SqliteCloudStore::put_file(const std::string& account, const std::string& sha256,
                                std::span<const std::uint8_t> bytes) {
  // receive_file checks the account and the name.
  const std::unique_ptr<IncomingFile> incoming = receive_file(account, sha256, bytes.size());
  incoming->write(bytes);
  put_file(account, sha256, *incoming);
}

std::unique_ptr<IncomingFile> SqliteCloudStore::receive_file(const std::string& account,
                                                             const std::string& sha256,
                                                             std::uint64_t size) {
  rules::check_account(account);
  if (!valid_sha256_hex(sha256))
    throw std::invalid_argument("a file is named by the 64 lowercase hex digits of its SHA-256");
  {
    std::lock_guard lock(mutex_);
    const AccountRow row = account_row(account);  // no folder for an unknown account
    auto existing = db_.prepare("SELECT 1 FROM files WHERE account = ? AND sha256 = ?");
    existing.bind(1, account).bind(2, sha256);
    if (existing.step()) return std::make_unique<IncomingFile>();
    rules::check_quota(row.bytes_used, static_cast<std::int64_t>(size), limits_);
  }
  const std::filesystem::path folder = files_ / account;
  if (private_folder(folder)) sync_folder(files_);
  return std::make_unique<IncomingFile>(folder);
}

void SqliteCloudStore::put_file(const std::string& account, const std::string& sha256,
                                IncomingFile& file) {
  rules::check_account(account);
  if (file.sha256_hex() != sha256)
    throw FileHashMismatch("the file's bytes do not hash to the SHA-256 it was sent under");
  if (!file.kept()) return;  // stored already when the upload began
  // Synced with no lock held: a 16 MiB upload does not stall other requests.
  file.sync();
  const auto size = static_cast<std::int64_t>(file.size());

  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  const AccountRow row = account_row(account);
  auto existing = db_.prepare("SELECT 1 FROM files WHERE account = ? AND sha256 = ?");
  existing.bind(1, account).bind(2, sha256);
  if (existing.step()) return;  // a copy racing this one landed first
  rules::check_quota(row.bytes_used, size, limits_);
  file.place(sha256);
  (void)record_change(account, row, ChangeKind::file, sha256, size, 0);
  db_.prepare("INSERT INTO files (account, sha256, size) VALUES (?, ?, ?)")
      .bind(1, account)
      .bind(2, sha256)
      .bind(3, size)
      .run();
  transaction.commit();
}

bool SqliteCloudStore::has_file(const std::string& account, const std::string& sha256) {
  rules::check_account(account);
  if (!valid_sha256_hex(sha256)) return false;
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto statement = db_.prepare("SELECT 1 FROM files WHERE account = ? AND sha256 = ?");
  statement.bind(1, account).bind(2, sha256);
  return statement.step();
}

std::optional<std::vector<std::uint8_t>> SqliteCloudStore::file(const std::string& account,
                                                                const std::string& sha256) {
  if (!has_file(account, sha256)) return std::nullopt;
  // Listed means renamed into place and synced: the name holds the whole file for good.
  return read_whole(file_path(account, sha256));
}

std::optional<std::filesystem::path> SqliteCloudStore::file_on_disk(const std::string& account,
                                                                    const std::string& sha256) {
  if (!has_file(account, sha256)) return std::nullopt;
  return file_path(account, sha256);
}

std::vector<Change> SqliteCloudStore::changes_since(const std::string& account, std::int64_t after,
                                                    std::size_t limit) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto statement = db_.prepare(
      "SELECT kind, id, counter FROM changes WHERE account = ? AND counter > ? "
      "ORDER BY counter LIMIT ?");
  statement.bind(1, account).bind(2, after).bind(3, rules::row_limit(limit));
  std::vector<Change> changes;
  while (statement.step())
    changes.push_back({kind_named(statement.text(0)), statement.text(1), statement.integer(2)});
  return changes;
}

std::int64_t SqliteCloudStore::counter(const std::string& account) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  return account_row(account).counter;
}

std::int64_t SqliteCloudStore::bytes_used(const std::string& account) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  return account_row(account).bytes_used;
}

bool SqliteCloudStore::remember_nonce(const std::string& device_id, const std::string& nonce,
                                      std::int64_t expires_at, std::int64_t now) {
  rules::check_name("a device id", device_id);
  rules::check_name("a nonce", nonce);
  std::lock_guard lock(mutex_);
  // New, or seen before but expired: this sighting counts. An unexpired one is a replay
  // and the upsert's WHERE leaves it as it was (no row changed).
  db_.prepare(
         "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?, ?, ?) "
         "ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = excluded.expires_at "
         "WHERE nonces.expires_at <= ?")
      .bind(1, device_id)
      .bind(2, nonce)
      .bind(3, expires_at)
      .bind(4, now)
      .run();
  return sqlite3_changes(db_.handle()) > 0;
}

std::size_t SqliteCloudStore::purge_nonces(std::int64_t now) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM nonces WHERE expires_at <= ?").bind(1, now).run();
  return static_cast<std::size_t>(sqlite3_changes(db_.handle()));
}

}  // namespace idvault::cloud
