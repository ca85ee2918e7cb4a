// A file upload's body on its way to the store. CloudService::plan_body makes one once the
// request's head is authenticated (by the body hash it was signed for) and its declared
// length fits the account's quota; the HTTP server then feeds it the body as it arrives,
// and the route holds the bytes to the signed hash and the file's name before storing.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>

#include "host/cloud/store/incoming_file.h"
#include "host/http/message.h"

namespace idvault::cloud {

class FileUpload final : public http::BodySink {
 public:
  FileUpload(std::unique_ptr<IncomingFile> file, std::string signed_body_sha256)
      : file_(std::move(file)), signed_body_sha256_(std::move(signed_body_sha256)) {}
  void write(std::span<const std::uint8_t> bytes) override { file_->write(bytes); }
  [[nodiscard]] IncomingFile& file() noexcept { return *file_; }
  // The body_sha256 of the request's signature, checked before a byte was read.
  [[nodiscard]] const std::string& signed_body_sha256() const noexcept {
    return signed_body_sha256_;
  }

 private:
  std::unique_ptr<IncomingFile> file_;
  std::string signed_body_sha256_;
};

}  // namespace idvault::cloud
