// Thin RAII owners for SQLite: a connection and a prepared statement. Errors are
// StoreError carrying the operation, SQLite's own message (which never contains bound
// values) and the kind of failure its result code means.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vault/store/store_error.h"

namespace idvault::vault {

class SqliteStatement;

class SqliteDatabase {
 public:
  // Opens (creating if asked) with WAL, synchronous=FULL, foreign keys and a busy timeout.
  // page_size (a power of two, 512..65536) applies to a file this call creates; 0 keeps
  // SQLite's default. An existing file keeps the page size it was made with.
  SqliteDatabase(const std::filesystem::path& path, bool create, int page_size = 0);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;  // one owner closes the connection
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  void execute(std::string_view sql);
  [[nodiscard]] SqliteStatement prepare(std::string_view sql);
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
  [[noreturn]] void fail(const std::string& operation) const;

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* statement, const SqliteDatabase& db)
      : statement_(statement), db_(&db) {}
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept
      : statement_(std::exchange(other.statement_, nullptr)), db_(other.db_) {}
  SqliteStatement(const SqliteStatement&) = delete;  // finalized exactly once
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;

  SqliteStatement& bind(int index, std::int64_t value);
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind_blob(int index, std::span<const std::uint8_t> bytes);
  // Without SQLite's own copy, for multi-megabyte ciphertexts: the bytes must stay alive
  // and unchanged until the statement is rebound or destroyed.
  SqliteStatement& bind_blob_borrowed(int index, std::span<const std::uint8_t> bytes);
  SqliteStatement& bind_null(int index);

  // true while a row is available.
  [[nodiscard]] bool step();
  void run();  // step once, expect no row
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::vector<std::uint8_t> blob(int column) const;

 private:
  sqlite3_stmt* statement_;
  const SqliteDatabase* db_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back if destroyed before commit().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDatabase& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;  // one transaction, one owner
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

 private:
  SqliteDatabase& db_;
  bool done_ = false;
};

}  // namespace idvault::vault
