// The store's one error type. It says what kind of failure it was, classified where the
// SQLite result code or the errno is seen (sqlite_db.cpp, ciphertext_files.cpp), so the
// layers above tell the holder "the disk is full" without decoding either.
#pragma once

#include <stdexcept>
#include <string>

namespace idvault::vault {

// A store failure: I/O, a full disk, a corrupt file, a schema from the future.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    other,      // anything not below (a schema from the future, a row that changed shape)
    disk_full,  // no room left: SQLite's SQLITE_FULL, or ENOSPC/EDQUOT writing a file
    read_only,  // the store or its folder cannot be written
    corrupt,    // the database or a ciphertext file is damaged or not ours
    busy,       // another connection held the database past the busy timeout
  };

  StoreError(const std::string& operation, const std::string& detail, Kind kind = Kind::other)
      : std::runtime_error(operation + ": " + detail), kind_(kind) {}
  [[nodiscard]] Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

}  // namespace idvault::vault
