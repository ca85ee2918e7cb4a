#include "host/rpc/method_table.h"

#include <fcntl.h>
#include <sys/stat.h>

namespace idvault::rpc {
namespace {

// A passed descriptor's file, which must be a regular one: reading a pipe, socket or
// device could block a worker forever or never end, and so could writing to a pipe
// nobody reads.
struct stat regular_file(const FileDescriptor& fd, const std::string& where) {
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
    throw RpcError(RpcCode::invalid_params,
                   where + ": the descriptor passed is not a regular file");
  }
  return status;
}

}  // namespace

void CallContext::notify(const std::string& method, const nlohmann::json& params) const {
  if (notify_) notify_(format_notification(method, params));
}

Attachment& CallContext::claim(const nlohmann::json& index, const std::string& where) const {
  if (!index.is_number_unsigned()) {
    throw RpcError(RpcCode::invalid_params,
                   where + ": attachment must be a non-negative integer index");
  }
  const auto at = index.get<std::size_t>();
  if (at >= attachment_count()) {
    throw RpcError(RpcCode::invalid_params, where + ": attachment " + std::to_string(at) +
                                                " was not announced (the request has " +
                                                std::to_string(attachment_count()) + ")");
  }
  taken_.resize(attachments_->size(), false);
  if (taken_[at])
    throw RpcError(RpcCode::invalid_params,
                   where + ": attachment " + std::to_string(at) + " used twice");
  taken_[at] = true;
  return (*attachments_)[at];
}

SecretBytes CallContext::take_attachment(const nlohmann::json& index,
                                         const std::string& where) const {
  Attachment& attachment = claim(index, where);
  auto* bytes = std::get_if<SecretBytes>(&attachment);
  if (bytes == nullptr)
    throw RpcError(RpcCode::invalid_params, where + ": a passed descriptor is not accepted here");
  return std::move(*bytes);
}

std::variant<SecretBytes, PassedFile> CallContext::take_file(const nlohmann::json& index,
                                                             const std::string& where) const {
  Attachment& attachment = claim(index, where);
  if (auto* bytes = std::get_if<SecretBytes>(&attachment)) return std::move(*bytes);
  FileDescriptor fd = std::move(std::get<FileDescriptor>(attachment));
  const auto size = static_cast<std::size_t>(regular_file(fd, where).st_size);
  if (size == 0) throw RpcError(RpcCode::invalid_params, where + ": the file passed is empty");
  if (size > passed_file_budget_) {
    throw RpcError(RpcCode::frame_too_large,
                   where + ": the file passed is " + std::to_string(size) +
                       " bytes, over what is left of the request's limit (" +
                       std::to_string(passed_file_budget_) + " bytes)");
  }
  passed_file_budget_ -= size;
  return PassedFile{std::move(fd), size};
}

FileDescriptor CallContext::take_output_file(const nlohmann::json& index,
                                             const std::string& where) const {
  Attachment& attachment = claim(index, where);
  auto* passed = std::get_if<FileDescriptor>(&attachment);
  if (passed == nullptr)
    throw RpcError(RpcCode::invalid_params, where + ": expected a passed descriptor, not bytes");
  FileDescriptor fd = std::move(*passed);
  (void)regular_file(fd, where);
  const int mode = ::fcntl(fd.get(), F_GETFL);
  if (mode < 0 || (mode & O_ACCMODE) == O_RDONLY) {
    throw RpcError(RpcCode::invalid_params, where + ": the file passed is not open for writing");
  }
  return fd;
}

void CallContext::require_all_attachments_taken() const {
  for (std::size_t i = 0; i < attachment_count(); ++i) {
    if (i >= taken_.size() || !taken_[i]) {
      throw RpcError(RpcCode::invalid_params, "attachments: attachment " + std::to_string(i) +
                                                  " was sent but no parameter refers to it");
    }
  }
}

}  // namespace idvault::rpc
