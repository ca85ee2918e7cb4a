// Large ciphertexts beside the store's database, in a directory next to it (vault.db ->
// vault.db.files/): one file per put (a "pack") holding the Telegram-format ciphertext of
// each of the element's files one after the other, so a put of megabytes of scans is one
// sequential write and one fdatasync, not thousands of SQLite pages (nor one journal
// commit per scan: measured, eight 2 MiB files synced one by one took 2-3x as long as
// the same 16 MiB in one file).
//
// Only ciphertext is written here, under random names that say nothing (each database
// row names its pack, offset and size). The order that keeps a crash harmless is the
// caller's: open_pack() and append() each ciphertext (to a temporary name, write-back
// started at once so the disk works while the next file is encrypted), publish() the
// pack (data synced, renamed into place, directory synced), and only then the SQLite
// commit that refers to it; after a delete, the commit first, then remove().
// A crash in between leaves files no row refers to, which remove_unreferenced() deletes
// the next time the store is opened.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
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

  // One put's ciphertexts, appended from any thread; the file keeps a temporary name
  // until publish().
  class Pack {
   public:
    Pack(std::filesystem::path temporary, std::string name, int fd) noexcept
        : temporary_(std::move(temporary)), name_(std::move(name)), fd_(fd) {}
    ~Pack();
    Pack(const Pack&) = delete;  // owns its descriptor
    Pack& operator=(const Pack&) = delete;
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    // Writes bytes at the end and starts their write-back (sync_file_range) without
    // waiting for it. Returns their offset. Thread-safe.
    [[nodiscard]] std::uint64_t append(std::span<const std::uint8_t> bytes);

   private:
    std::filesystem::path temporary_;
    std::string name_;
    int fd_;
    std::atomic<std::uint64_t> end_{0};
  };
  [[nodiscard]] std::unique_ptr<Pack> open_pack();
  // For each pack name: data synced (fdatasync), renamed to that name (unless it was
  // published before); then the directory synced. Throws StoreError (the packs are then
  // still temporary, and removed by remove() or at the next open).
  void publish(std::span<const std::string> names);
  // `size` bytes at `offset` of a pack; StoreError naming the file if it is missing or
  // too short (a damaged store must say so, not hand out a short ciphertext).
  [[nodiscard]] Bytes read(const std::string& name, std::uint64_t offset, std::size_t size);
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
