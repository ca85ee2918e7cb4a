// Files the CLI reads (scans, JSON the user wrote) and writes (decrypted scans, bundles):
// scans go into wiping memory, and everything written is the user's alone (0600, no
// symlink followed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>

#include "common/secret_bytes.h"
#include "host/rpc/file_descriptor.h"

namespace idvault::cli {

// The whole file; UsageError naming the path if it cannot be read or is empty.
[[nodiscard]] SecretBytes read_scan(const std::filesystem::path& path);
// A scan opened for the agent to read itself (passed as a descriptor): a regular,
// non-empty file. UsageError naming the path otherwise.
struct OpenScan {
  rpc::FileDescriptor fd;
  std::size_t size = 0;
};
[[nodiscard]] OpenScan open_scan(const std::filesystem::path& path);
// A JSON document from a file; UsageError naming the path and the parse error.
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

// Creates or replaces path with mode 0600; refuses a symlink in its place.
void write_private_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
// A file someone else writes (the agent, passed its descriptor) under a temporary name
// beside path, mode 0600, renamed over path by commit(); without commit it is removed,
// so a failed or refused share leaves whatever was at path as it was.
class PendingPrivateFile {
 public:
  explicit PendingPrivateFile(std::filesystem::path path);
  ~PendingPrivateFile();
  PendingPrivateFile(const PendingPrivateFile&) = delete;
  PendingPrivateFile& operator=(const PendingPrivateFile&) = delete;
  PendingPrivateFile(PendingPrivateFile&&) = delete;
  PendingPrivateFile& operator=(PendingPrivateFile&&) = delete;

  [[nodiscard]] int descriptor() const noexcept { return file_.get(); }
  void commit();

 private:
  std::filesystem::path path_;
  std::string temporary_;
  rpc::FileDescriptor file_;
  bool committed_ = false;
};
// Creates dir (0700) if missing; UsageError if it is not a directory.
void make_private_directory(const std::filesystem::path& dir);

}  // namespace idvault::cli
