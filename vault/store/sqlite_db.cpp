#include "vault/store/sqlite_db.h"

#include <utility>

namespace idvault::vault {
namespace {

// The one place SQLite's result codes are read for meaning: the rest of the program asks
// the error's kind.
StoreError::Kind kind_of(int rc) noexcept {
  switch (rc & 0xff) {  // the primary code of an extended one
    case SQLITE_FULL:
      return StoreError::Kind::disk_full;
    case SQLITE_READONLY:
      return StoreError::Kind::read_only;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreError::Kind::corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreError::Kind::busy;
    default:
      return StoreError::Kind::other;
  }
}

}  // namespace

SqliteDatabase::SqliteDatabase(const std::filesystem::path& path, bool create, int page_size) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError("cannot open store " + path.string(), detail, kind_of(rc));
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    // Before WAL mode, which writes the header and fixes the page size of a new file.
    if (page_size > 0) execute("PRAGMA page_size=" + std::to_string(page_size));
    // FULL: a write is acknowledged only once it is on disk, so a crash keeps it.
    execute(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
        "PRAGMA secure_delete=ON;");
  } catch (...) {
    // A constructor that throws gets no destructor call: close the connection (and its
    // file descriptor) here, or every refused file (not a database, say) leaks one.
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteDatabase::~SqliteDatabase() {
  sqlite3_close_v2(db_);
}

void SqliteDatabase::fail(const std::string& operation) const {
  throw StoreError(operation, sqlite3_errmsg(db_), kind_of(sqlite3_extended_errcode(db_)));
}

void SqliteDatabase::execute(std::string_view sql) {
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail("store");
}

SqliteStatement SqliteDatabase::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    fail("store: prepare");
  }
  return SqliteStatement(statement, *this);
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(statement_);
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) db_->fail("store: bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    db_->fail("store: bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  // A zero-length blob must stay a blob, not become NULL.
  static const std::uint8_t kEmpty = 0;
  const void* data = bytes.empty() ? &kEmpty : bytes.data();
  if (sqlite3_bind_blob64(statement_, index, data, bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    db_->fail("store: bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob_borrowed(int index,
                                                     std::span<const std::uint8_t> bytes) {
  static const std::uint8_t kEmpty = 0;
  const void* data = bytes.empty() ? &kEmpty : bytes.data();
  if (sqlite3_bind_blob64(statement_, index, data, bytes.size(), SQLITE_STATIC) != SQLITE_OK) {
    db_->fail("store: bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  if (sqlite3_bind_null(statement_, index) != SQLITE_OK) db_->fail("store: bind");
  return *this;
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("store: write or read failed");
}

void SqliteStatement::run() {
  if (step()) throw StoreError("store", "statement returned a row where none was expected");
}

void SqliteStatement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool SqliteStatement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::int64_t SqliteStatement::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string SqliteStatement::text(int column) const {
  const auto* bytes = sqlite3_column_text(statement_, column);
  return bytes ? std::string(reinterpret_cast<const char*>(bytes),
                             static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
               : std::string();
}

std::vector<std::uint8_t> SqliteStatement::blob(int column) const {
  const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
  return bytes ? std::vector<std::uint8_t>(bytes, bytes + size) : std::vector<std::uint8_t>();
}

SqliteTransaction::SqliteTransaction(SqliteDatabase& db) : db_(db) {
  db_.execute("BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit() {
  db_.execute("COMMIT");
  done_ = true;
}

}  // namespace idvault::vault
