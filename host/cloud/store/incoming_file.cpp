#include "host/cloud/store/incoming_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "common/hex.h"

namespace idvault::cloud {
namespace {

constexpr std::string_view kIncoming = ".incoming-";
constexpr std::uint64_t kWriteBehindBytes = 1 << 20;

// errno's text through generic_category: strerror() is not thread-safe, and the server
// stores from several threads.
[[noreturn]] void fail_io(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("cannot " + what + " " + path.string() + ": " +
                           std::generic_category().message(errno));
}

openssl::DigestCtx new_sha256() {
  openssl::DigestCtx digest(EVP_MD_CTX_new());
  openssl::check(digest ? 1 : 0, "EVP_MD_CTX_new");
  openssl::check(EVP_DigestInit_ex(digest.get(), openssl::sha256(), nullptr), "EVP_DigestInit_ex");
  return digest;
}

}  // namespace

void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_io("sync the folder", folder);
  const int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) fail_io("sync the folder", folder);
}

void remove_incoming_leftovers(const std::filesystem::path& files) {
  for (const auto& account : std::filesystem::directory_iterator(files)) {
    if (!account.is_directory()) continue;
    for (const auto& entry : std::filesystem::directory_iterator(account.path())) {
      if (entry.path().filename().string().starts_with(kIncoming))
        std::filesystem::remove(entry.path());
    }
  }
}

IncomingFile::IncomingFile() : digest_(new_sha256()) {}

IncomingFile::IncomingFile(const std::filesystem::path& folder)
    : digest_(new_sha256()),
      folder_(folder),
      path_((folder / (std::string(kIncoming) + "XXXXXX")).string()) {
  descriptor_ = ::mkostemp(path_.data(), O_CLOEXEC);
  if (descriptor_ < 0) fail_io("create a file in", folder);
}

IncomingFile::~IncomingFile() {
  if (descriptor_ < 0) return;
  ::close(descriptor_);
  ::unlink(path_.c_str());
}

void IncomingFile::write(std::span<const std::uint8_t> bytes) {
  if (!sha256_hex_.empty()) throw std::logic_error("IncomingFile::write after its hash was taken");
  openssl::check(EVP_DigestUpdate(digest_.get(), bytes.data(), bytes.size()), "EVP_DigestUpdate");
  size_ += bytes.size();
  if (descriptor_ < 0) return;
  while (!bytes.empty()) {
    const ssize_t written = ::write(descriptor_, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_io("write", path_);
    }
    bytes = bytes.subspan(static_cast<std::size_t>(written));
  }
  // The disk starts on each megabyte as it arrives, so the sync before the file is
  // placed waits only for the tail (advice: a failure here changes nothing).
  if (size_ - started_ >= kWriteBehindBytes) {
    (void)::sync_file_range(descriptor_, static_cast<off_t>(started_),
                            static_cast<off_t>(size_ - started_), SYNC_FILE_RANGE_WRITE);
    started_ = size_;
  }
}

const std::string& IncomingFile::sha256_hex() {
  if (sha256_hex_.empty()) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    openssl::check(EVP_DigestFinal_ex(digest_.get(), digest.data(), &length), "EVP_DigestFinal_ex");
    sha256_hex_ = hex_lower(std::span<const std::uint8_t>(digest.data(), length));
  }
  return sha256_hex_;
}

void IncomingFile::sync() {
  if (descriptor_ >= 0 && ::fsync(descriptor_) != 0) fail_io("sync", path_);
}

void IncomingFile::place(const std::string& name) {
  if (descriptor_ < 0) throw std::logic_error("IncomingFile::place: its bytes were not kept");
  if (::rename(path_.c_str(), (folder_ / name).c_str()) != 0) fail_io("rename", path_);
  ::close(descriptor_);
  descriptor_ = -1;
  sync_folder(folder_);
}

std::vector<std::uint8_t> IncomingFile::read_back() const {
  if (descriptor_ < 0) throw std::logic_error("IncomingFile::read_back: its bytes were not kept");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size_));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got =
        ::pread(descriptor_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail_io("read back", path_);
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

}  // namespace idvault::cloud
