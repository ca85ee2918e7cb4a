#include "vault/store/ciphertext_files.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

#include "vault/store/store_error.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kTemporaryPrefix = ".tmp-";
constexpr std::string_view kSuffix = ".tgc";  // Telegram-format ciphertext
constexpr const char* kLockName = ".lock";

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int error) {
  // A full disk is the same kind as SQLite's own "full", so callers tell the holder the
  // same thing whichever of the two ran out of room first.
  StoreError::Kind kind = StoreError::Kind::other;
  if (error == ENOSPC || error == EDQUOT) kind = StoreError::Kind::disk_full;
  if (error == EROFS) kind = StoreError::Kind::read_only;
  throw StoreError("store", what + " " + path.string() + ": " + std::strerror(error), kind);
}

class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;  // closed exactly once
  Descriptor& operator=(const Descriptor&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int close_checked() noexcept { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string random_name() {
  std::array<std::uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw StoreError("store", "no randomness for a file name");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (std::uint8_t byte : bytes) {
    name.push_back(kHex[byte >> 4]);
    name.push_back(kHex[byte & 15]);
  }
  return name + std::string(kSuffix);
}

}  // namespace

std::filesystem::path CiphertextFiles::beside(const std::filesystem::path& database) {
  return std::filesystem::path(database.string() + ".files");
}

bool CiphertextFiles::valid_name(std::string_view name) noexcept {
  if (name.size() != 32 + kSuffix.size() || !name.ends_with(kSuffix)) return false;
  for (char c : name.substr(0, 32)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

CiphertextFiles::CiphertextFiles(std::filesystem::path directory)
    : directory_(std::move(directory)) {
  if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST)
    fail("cannot create", directory_, errno);
  const auto lock_path = directory_ / kLockName;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd_ < 0) fail("cannot open", lock_path, errno);
  // First one in takes it exclusively (and may clean up); everyone holds it shared.
  exclusive_ = ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
  if (!exclusive_ && ::flock(lock_fd_, LOCK_SH) != 0) fail("cannot lock", lock_path, errno);
}

CiphertextFiles::~CiphertextFiles() {
  remover_.wait();  // under the lock still, as every other change to the directory
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::unique_ptr<CiphertextFiles::Pack> CiphertextFiles::open_pack() {
  const std::string name = random_name();
  auto temporary = directory_ / (std::string(kTemporaryPrefix) + name);
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail("cannot create", temporary, errno);
  // A second descriptor for large ciphertexts, where the file system has direct I/O.
  const int direct_fd = ::open(temporary.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
  return std::make_unique<Pack>(std::move(temporary), name, fd, direct_fd);
}

namespace {
std::size_t round_to_pages(std::size_t n) {
  return (n + kPageAlignment - 1) / kPageAlignment * kPageAlignment;
}
}  // namespace

CiphertextFiles::Pack::~Pack() {
  writer_.wait();  // its jobs write to the descriptors
  if (direct_fd_ >= 0) ::close(direct_fd_);
  ::close(fd_);
}

CiphertextFiles::Pack::Placement CiphertextFiles::Pack::reserve(std::size_t size) {
  std::lock_guard lock(end_mutex_);
  Placement placement;
  placement.direct = size >= kDirectFrom && direct_.load();
  // Direct I/O wants page-aligned offsets and lengths: such a ciphertext starts on a
  // page boundary and the page after its end is left to it (the rows keep exact offsets
  // and sizes; the gaps hold zeros).
  placement.offset = placement.direct ? round_to_pages(end_) : end_;
  end_ = placement.offset + (placement.direct ? round_to_pages(size) : size);
  return placement;
}

void CiphertextFiles::Pack::write_at(int fd, const std::uint8_t* data, std::size_t size,
                                     std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && fd == direct_fd_) {
      // The file system refused direct I/O after all (it wants more alignment than a
      // page): this and every later ciphertext go through the page cache.
      direct_ = false;
      fd = fd_;
      continue;
    }
    if (n <= 0)
      fail("cannot write", temporary_, n < 0 ? errno : ENOSPC);  // nothing refers to the pack yet
    done += static_cast<std::size_t>(n);
  }
}

void CiphertextFiles::Pack::write(std::span<const std::uint8_t> bytes, Placement placement) {
  if (!placement.direct) {
    write_at(fd_, bytes.data(), bytes.size(), placement.offset);
    // Start writing it out now; publish() waits for it. Only a hint: fdatasync decides.
    (void)::sync_file_range(fd_, static_cast<off_t>(placement.offset),
                            static_cast<off_t>(bytes.size()), SYNC_FILE_RANGE_WRITE);
    return;
  }
  // Whole pages straight from the caller's buffer when it is aligned (the encryptor's
  // is); the rest, or all of an unaligned buffer, through a small aligned copy.
  std::size_t done = 0;
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % kPageAlignment == 0) {
    done = bytes.size() / kPageAlignment * kPageAlignment;
    write_at(direct_fd_, bytes.data(), done, placement.offset);
  }
  PageAlignedBytes bounce;
  while (done < bytes.size()) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - done, 1u << 20);
    bounce.assign(round_to_pages(n), 0);
    std::memcpy(bounce.data(), bytes.data() + done, n);
    write_at(direct_fd_, bounce.data(), bounce.size(), placement.offset + done);
    done += n;
  }
}

std::uint64_t CiphertextFiles::Pack::append(std::span<const std::uint8_t> bytes) {
  const Placement placement = reserve(bytes.size());
  write(bytes, placement);
  return placement.offset;
}

std::uint64_t CiphertextFiles::Pack::append_later(PageAlignedBytes&& bytes) {
  {
    std::lock_guard lock(failure_mutex_);
    if (failure_) std::rethrow_exception(failure_);  // stop the caller early: the put has failed
  }
  const Placement placement = reserve(bytes.size());
  writer_.post([this, bytes = std::move(bytes), placement] {
    {
      std::lock_guard lock(failure_mutex_);
      if (failure_) return;  // a write failed: the rest is not written
    }
    try {
      write(bytes, placement);
    } catch (...) {
      std::lock_guard lock(failure_mutex_);
      failure_ = std::current_exception();
    }
  });
  return placement.offset;
}

void CiphertextFiles::Pack::finish() {
  writer_.wait();
  std::lock_guard lock(failure_mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

void CiphertextFiles::publish(std::span<const std::string> names) {
  for (const std::string& name : names) {
    if (!valid_name(name)) throw StoreError("store", "not a ciphertext file name");
    const auto temporary = directory_ / (std::string(kTemporaryPrefix) + name);
    Descriptor fd(::open(temporary.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0 && errno == ENOENT) {
      // Published before: an element read back and put again names its own files.
      Descriptor published(::open((directory_ / name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (published.get() < 0) fail("cannot open", directory_ / name, errno);
      continue;
    }
    if (fd.get() < 0) fail("cannot open", temporary, errno);
    if (::fdatasync(fd.get()) != 0) fail("cannot sync", temporary, errno);
    if (::rename(temporary.c_str(), (directory_ / name).c_str()) != 0)
      fail("cannot rename", temporary, errno);
  }
  Descriptor fd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) fail("cannot sync", directory_, errno);
}

Bytes CiphertextFiles::read(const std::string& name, std::uint64_t offset, std::size_t size) {
  if (!valid_name(name)) {
    throw StoreError("store", "a file row names no valid ciphertext file (damaged store)",
                     StoreError::Kind::corrupt);
  }
  const auto path = directory_ / name;
  Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      throw StoreError("store", "ciphertext file " + path.string() + " is missing (damaged store)",
                       StoreError::Kind::corrupt);
    }
    fail("cannot open", path, errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail("cannot stat", path, errno);
  if (static_cast<std::uint64_t>(info.st_size) < offset + size) {
    throw StoreError("store",
                     "ciphertext file " + path.string() + " has " + std::to_string(info.st_size) +
                         " bytes where the store records " + std::to_string(size) + " at offset " +
                         std::to_string(offset) + " (damaged store)",
                     StoreError::Kind::corrupt);
  }
  Bytes bytes(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd.get(), bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read", path, errno);
    if (n == 0) {
      throw StoreError("store", "ciphertext file " + path.string() + " ended early (damaged store)",
                       StoreError::Kind::corrupt);
    }
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

void CiphertextFiles::remove_later(std::vector<std::string> names) {
  if (names.empty()) return;
  remover_.post([this, names = std::move(names)] {
    for (const auto& name : names) remove(name);
  });
}

void CiphertextFiles::remove(const std::string& name) noexcept {
  if (!valid_name(name)) return;
  ::unlink((directory_ / name).c_str());
  ::unlink((directory_ / (std::string(kTemporaryPrefix) + name)).c_str());
}

std::size_t CiphertextFiles::remove_unreferenced(const std::set<std::string>& referenced) {
  if (!exclusive_) return 0;  // another handle may be between its write() and its commit
  std::size_t removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
    const std::string name = entry.path().filename().string();
    if (name == kLockName) continue;
    const bool ours =
        valid_name(name) || (name.starts_with(kTemporaryPrefix) &&
                             valid_name(std::string_view(name).substr(kTemporaryPrefix.size())));
    if (!ours || referenced.contains(name)) continue;
    if (::unlink(entry.path().c_str()) == 0) ++removed;
  }
  // Let other handles in (they wait for a shared lock while this one is exclusive).
  ::flock(lock_fd_, LOCK_SH);
  exclusive_ = false;
  return removed;
}

}  // namespace idvault::vault
