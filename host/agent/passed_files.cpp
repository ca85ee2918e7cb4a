#include "host/agent/passed_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "host/rpc/json_rpc.h"

namespace idvault::agent {
namespace {

using rpc::RpcCode;
using rpc::RpcError;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw RpcError(RpcCode::invalid_params, where + ": the file passed " + what);
}

struct stat status_of(int fd, const std::string& where) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) fail(where, "cannot be examined");
  return status;
}

bool same_version(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

SecretBytes PassedFiles::placeholder(rpc::PassedFile&& file, std::string where) {
  // Not zeroed: every byte is overwritten by load(), and an unfilled buffer is wiped
  // when it is freed like any other.
  SecretBytes buffer = SecretBytes::for_overwrite(file.size);
  sources_.emplace(buffer.reveal().data(), Source{std::move(file.fd), file.size, std::move(where)});
  return buffer;
}

void PassedFiles::load(SecretBytes& file) const {
  const auto found = sources_.find(file.reveal().data());
  if (found == sources_.end()) return;
  const Source& source = found->second;
  const std::span<std::uint8_t> into = file.reveal_mutable();
  if (into.size() != source.size) fail(source.where, "was replaced by a buffer of another size");

  const struct stat before = status_of(source.fd.get(), source.where);
  std::size_t done = 0;
  while (done < into.size()) {
    // pread: the client's file offset is not ours to move, and the file may be shared.
    const ssize_t n =
        ::pread(source.fd.get(), into.data() + done, into.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(source.where, errno == EBADF ? "is not open for reading" : "cannot be read");
    if (n == 0) fail(source.where, "shrank while it was read");
    done += static_cast<std::size_t>(n);
  }
  const struct stat after = status_of(source.fd.get(), source.where);
  if (static_cast<std::size_t>(before.st_size) != source.size || !same_version(before, after)) {
    fail(source.where, "changed while it was read");
  }
}

}  // namespace idvault::agent
