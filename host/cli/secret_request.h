// One JSON-RPC request line built straight into wiping memory, for requests that carry a
// PIN or document scans: the secret bytes are escaped or base64-encoded into the line and
// never pass through a std::string or a JSON tree that would outlive the call.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "pkcs11/secret_bytes.h"

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

  // Closes the object and appends '\n'. The request may not be changed afterwards.
  [[nodiscard]] const SecretBytes& finish();
  [[nodiscard]] std::size_t size() const noexcept { return length_; }

 private:
  void append(std::string_view text);
  void append_name(std::string_view name);
  void append_base64(std::span<const std::uint8_t> bytes);
  void reserve(std::size_t more);

  SecretBytes line_;
  std::size_t length_ = 0;
  bool first_member_ = true;
  bool finished_ = false;
};

}  // namespace idvault::cli
