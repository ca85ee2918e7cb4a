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
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/page_aligned.h"
#include "vault/keys/keys.h"
#include "vault/store/serial_worker.h"

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
    // fd writes through the page cache; direct_fd (or -1) is the same file opened with
    // O_DIRECT.
    Pack(std::filesystem::path temporary, std::string name, int fd, int direct_fd) noexcept
        : temporary_(std::move(temporary)),
          name_(std::move(name)),
          fd_(fd),
          direct_fd_(direct_fd),
          direct_(direct_fd >= 0) {}
    ~Pack();
    Pack(const Pack&) = delete;  // owns its descriptors
    Pack& operator=(const Pack&) = delete;
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    // Whether large ciphertexts go with direct I/O (the file system has it, and has not
    // refused a write).
    [[nodiscard]] bool writes_direct() const noexcept { return direct_; }
    // Writes bytes at the end and returns their offset. Thread-safe. A large ciphertext
    // goes to the disk with direct I/O where the file system has it: from this buffer,
    // without a copy into the page cache (for a put of 16 MiB of scans that copy cost
    // more CPU than anything but the cipher), and the call returns once the device has
    // it; a small one is written through the page cache and its write-back started
    // (sync_file_range). Either way publish() syncs.
    [[nodiscard]] std::uint64_t append(std::span<const std::uint8_t> bytes);
    // The same, but the bytes are written on the pack's own thread and the call returns
    // at once with the offset they will have, so the caller goes on (encrypts the next
    // file) while the disk works. Throws the error of an earlier write, if one failed.
    [[nodiscard]] std::uint64_t append_later(PageAlignedBytes&& bytes);
    // Waits for every append_later() to be written; throws the first failure
    // (StoreError). Call before publishing the pack.
    void finish();

    // Ciphertexts from this size on are written with direct I/O.
    static constexpr std::size_t kDirectFrom = 256u << 10;

   private:
    struct Placement {
      std::uint64_t offset = 0;
      bool direct = false;
    };
    [[nodiscard]] Placement reserve(std::size_t size);
    void write(std::span<const std::uint8_t> bytes, Placement placement);
    void write_at(int fd, const std::uint8_t* data, std::size_t size, std::uint64_t offset);

    std::filesystem::path temporary_;
    std::string name_;
    int fd_;
    int direct_fd_;
    std::atomic<bool> direct_;  // false once the file system refused a direct write
    std::mutex end_mutex_;
    std::uint64_t end_ = 0;  // where the next ciphertext may start
    std::mutex failure_mutex_;
    std::exception_ptr failure_;  // of the first append_later() that failed
    SerialWorker writer_;         // writes what append_later() queued, in order
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
  // The same on a thread of its own, so a put is answered without waiting for the
  // file system to free the megabytes of the element it replaced. Done by the time
  // wait_for_removals() returns, or this object is destroyed.
  void remove_later(std::vector<std::string> names);
  void wait_for_removals() { remover_.wait(); }
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
  SerialWorker remover_;    // last member: its queued removals run before the rest goes
};

}  // namespace idvault::vault
