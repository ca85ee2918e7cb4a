#include "host/cli/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/cli/cli_error.h"

namespace idvault::cli {
namespace {

// Closes on every path out, including exceptions.
class OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OpenFile(const OpenFile&) = delete;  // one owner per descriptor
  OpenFile& operator=(const OpenFile&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  // close() reports write-back errors that write() did not.
  [[nodiscard]] int close() noexcept {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

[[noreturn]] void cannot(const std::string& what, const std::filesystem::path& path) {
  throw UsageError("cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

OpenScan open_scan(const std::filesystem::path& path) {
  rpc::FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) cannot("read", path);
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) cannot("read", path);
  if (!S_ISREG(info.st_mode)) throw UsageError("not a regular file: " + path.string());
  if (info.st_size == 0) throw UsageError("empty file: " + path.string());
  return {std::move(file), static_cast<std::size_t>(info.st_size)};
}

SecretBytes read_scan(const std::filesystem::path& path) {
  const OpenScan file = open_scan(path);
  SecretBytes bytes(file.size);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got =
        ::read(file.fd.get(), bytes.reveal_mutable().data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) cannot("read", path);
    if (got == 0) break;  // shrank while we read: take what is there
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
  if (bytes.empty()) throw UsageError("empty file: " + path.string());
  return bytes;
}

std::string read_text(const std::filesystem::path& path) {
  SecretBytes bytes = read_scan(path);
  return std::string(bytes.reveal_text());
}

void write_private_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  OpenFile file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (file.get() < 0) cannot("write", path);
  // An existing file keeps its mode through O_TRUNC; make it ours alone before writing.
  if (::fchmod(file.get(), 0600) != 0) cannot("restrict", path);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t put = ::write(file.get(), bytes.data() + done, bytes.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) cannot("write", path);
    done += static_cast<std::size_t>(put);
  }
  if (file.close() != 0) cannot("write", path);
}

PendingPrivateFile::PendingPrivateFile(std::filesystem::path path)
    : path_(std::move(path)), temporary_(path_.string() + ".XXXXXX") {
  // mkostemp: a new name no one else holds, mode 0600, never a symlink followed.
  file_ = rpc::FileDescriptor(::mkostemp(temporary_.data(), O_CLOEXEC));
  if (file_.get() < 0) cannot("write", path_);
}

PendingPrivateFile::~PendingPrivateFile() {
  if (!committed_) ::unlink(temporary_.c_str());
}

void PendingPrivateFile::commit() {
  // rename replaces a symlink at path itself; it does not write through it.
  if (::close(file_.release()) != 0 || ::rename(temporary_.c_str(), path_.c_str()) != 0)
    cannot("write", path_);
  committed_ = true;
}

void make_private_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) cannot("create directory", dir);
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw UsageError("not a directory: " + dir.string());
  }
}

}  // namespace idvault::cli
