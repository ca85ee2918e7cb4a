// A file's bytes as an upload brings them in: hashed as they come and written to a
// temporary file (0600, named .incoming-XXXXXX) in the folder where it will be placed,
// so that a 16 MiB upload is never held in memory. Or only hashed, when the store already
// holds the file the upload claims to be (its bytes are then not kept). The temporary is
// removed with the object unless placed: an upload cut short, refused or not what it
// claimed leaves nothing behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/openssl_owners.h"

namespace idvault::cloud {

// Syncs a folder (a rename or a new entry in it made durable); throws std::runtime_error.
void sync_folder(const std::filesystem::path& folder);

// Temporaries a crash left behind in a folder's account folders (never listed, never
// acknowledged), removed.
void remove_incoming_leftovers(const std::filesystem::path& files);

class IncomingFile {
 public:
  // Kept in a temporary in folder (which exists); throws std::runtime_error when it cannot
  // be made.
  explicit IncomingFile(const std::filesystem::path& folder);
  // Hashed only.
  IncomingFile();
  IncomingFile(const IncomingFile&) = delete;  // removes its temporary exactly once
  IncomingFile& operator=(const IncomingFile&) = delete;
  IncomingFile(IncomingFile&&) = delete;
  IncomingFile& operator=(IncomingFile&&) = delete;
  ~IncomingFile();

  // The next bytes; throws std::runtime_error when they cannot be written (disk full).
  void write(std::span<const std::uint8_t> bytes);
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] bool kept() const noexcept { return descriptor_ >= 0; }
  // Lowercase hex SHA-256 of every byte written; no write after the first call.
  [[nodiscard]] const std::string& sha256_hex();
  // The bytes made durable (fsync), before they are placed or read back.
  void sync();
  // Renamed to name beside it and the folder synced: the name appears only for whole,
  // durable bytes (a copy of the same file renamed over it holds the same bytes).
  void place(const std::string& name);
  // Every byte, read back (for a back-end that keeps files elsewhere).
  [[nodiscard]] std::vector<std::uint8_t> read_back() const;

 private:
  openssl::DigestCtx digest_;
  std::string sha256_hex_;
  std::uint64_t size_ = 0;
  std::uint64_t started_ = 0;  // bytes handed to the disk's write-back so far
  std::filesystem::path folder_;
  std::string path_;
  int descriptor_ = -1;
};

}  // namespace idvault::cloud
