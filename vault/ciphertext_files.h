// Large ciphertexts beside the store's database: one file per Telegram-format file
// ciphertext in a directory next to it (vault.db -> vault.db.files/), so a put of
// megabytes of scans is a sequential write of each, not thousands of SQLite pages.
//
// Only ciphertext is written here, under random names that say nothing (the database
// row names its file). The order that keeps a crash harmless is the caller's: write()
// each file (to a temporary name, write-back started at once so the disk works while the
// next file is encrypted), publish() them (data synced, renamed into place, directory
// synced), and only then the SQLite commit that refers to them; after a delete, the
// commit first, then remove().
// A crash in between leaves files no row refers to, which remove_unreferenced() deletes
// the next time the store is opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <set>
#include <span>
#include <string>

#include "vault/keys.h"

namespace idvault::vault {

class CiphertextFiles {
 public:
  // Creates the directory (0700) if missing. Holds a lock file in it so that a store
  // opened while another handle (or process) has it open never cleans up files that
  // handle is still writing.
  explicit CiphertextFiles(std::filesystem::path directory);
  ~CiphertextFiles();
  CiphertextFiles(const CiphertextFiles&) = delete;  // owns the lock's descriptor
  CiphertextFiles& operator=(const CiphertextFiles&) = delete;

  [[nodiscard]] static std::filesystem::path beside(const std::filesystem::path& database);
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

  // Writes bytes to a new file and starts its write-back (sync_file_range), without
  // waiting for it; the file keeps a temporary name until publish(). Returns the name
  // it will have. Thread-safe.
  [[nodiscard]] std::string write(std::span<const std::uint8_t> bytes);
  // For each name write() returned: data synced (fdatasync), renamed to that name; then
  // the directory synced. Throws StoreError (the files are then still temporary, and
  // removed by remove() or at the next open).
  void publish(std::span<const std::string> names);
  // The file's bytes; StoreError naming the file if it is missing or not `size` bytes
  // (a damaged store must say so, not hand out a short ciphertext).
  [[nodiscard]] Bytes read(const std::string& name, std::size_t size);
  // Best effort, published or not: a file left behind is removed at the next open.
  void remove(const std::string& name) noexcept;
  // Deletes every file not named in `referenced` (and every temporary file), if no
  // other handle had the directory open when this one opened it; then lets others in.
  // Call once, right after opening. Returns how many were removed.
  std::size_t remove_unreferenced(const std::set<std::string>& referenced);

  // A name write() could have produced (a row's name is checked before it is opened).
  [[nodiscard]] static bool valid_name(std::string_view name) noexcept;

 private:
  std::filesystem::path directory_;
  int lock_fd_ = -1;
  bool exclusive_ = false;  // this handle took the lock first: no one else is writing
};

}  // namespace idvault::vault
