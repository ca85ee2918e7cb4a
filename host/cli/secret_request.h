// One JSON-RPC request line built straight into wiping memory, for requests that carry a
// PIN or document scans: the secret bytes are escaped or base64-encoded into the line and
// never pass through a std::string or a JSON tree that would outlive the call.
//
// With attachments (an agent whose status offers them, docs/AGENT.md), add_file and
// add_file_list put {"attachment":N} in the line instead of base64, and the files' own
// bytes follow the line on the socket: no encoding on either side, a quarter fewer
// bytes to move. The files are borrowed: they must outlive the call that sends them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"

namespace idvault::cli {

class SecretRequest {
 public:
  // Starts {"jsonrpc":"2.0","id":ID,"method":METHOD,"params":{
  SecretRequest(std::string_view method, int id);

  // "name":<plain JSON value> (not secret: a type name, a flag, a data object)
  void add_plain(std::string_view name, const nlohmann::json& value);
  // "name":"<secret as a JSON string>" (a PIN)
  void add_text(std::string_view name, const SecretBytes& secret);
  // "name":"<base64 of bytes>" (a scan)
  void add_base64(std::string_view name, const SecretBytes& bytes);
  // "name":["<base64>",...]
  void add_base64_list(std::string_view name, std::span<const SecretBytes> files);

  // Files as binary attachments instead of base64 (call before adding files).
  void use_attachments(bool on) noexcept { use_attachments_ = on; }
  // "name":<file> and "name":[<file>,...], as attachments or base64 (see above).
  void add_file(std::string_view name, const SecretBytes& bytes);
  void add_file_list(std::string_view name, std::span<const SecretBytes> files);
  // "name":<file> and "name":[<file>,...] passed as open descriptors (an agent whose
  // status offers "descriptors"): {"attachment":N}, announced as "fd"; the agent reads
  // the files itself. The descriptors are borrowed, like the bytes above.
  struct OpenFileRef {
    int fd = -1;
    std::size_t size = 0;  // what the file holds, for the frame limit
  };
  void add_passed_file(std::string_view name, OpenFileRef file);
  void add_passed_file_list(std::string_view name, std::span<const OpenFileRef> files);

  // Closes the object (announcing the attachments) and appends '\n'. The request may
  // not be changed afterwards.
  [[nodiscard]] const SecretBytes& finish();
  [[nodiscard]] std::size_t size() const noexcept { return length_; }
  // The bytes to send after the line, in order.
  [[nodiscard]] std::span<const std::span<const std::uint8_t>> attachments() const noexcept {
    return attachments_;
  }
  [[nodiscard]] std::size_t attachment_bytes() const noexcept;
  // The descriptors to pass with the line, in order, and the bytes their files hold.
  [[nodiscard]] std::span<const int> passed_descriptors() const noexcept { return descriptors_; }
  [[nodiscard]] std::size_t passed_bytes() const noexcept { return passed_bytes_; }

 private:
  void append(std::string_view text);
  void append_name(std::string_view name);
  void append_base64(std::span<const std::uint8_t> bytes);
  void append_attachment(const SecretBytes& bytes);
  void append_passed(OpenFileRef file);
  void reserve(std::size_t more);

  SecretBytes line_;
  std::size_t length_ = 0;
  bool first_member_ = true;
  bool finished_ = false;
  bool use_attachments_ = false;
  std::vector<std::span<const std::uint8_t>> attachments_;
  std::vector<int> descriptors_;
  std::size_t passed_bytes_ = 0;
  std::vector<std::string> announced_;  // "<byte count>" or "\"fd\"", in reference order
};

}  // namespace idvault::cli
