#include "host/cli/secret_request.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace idvault::cli {

SecretRequest::SecretRequest(std::string_view method, int id) {
  append(R"({"jsonrpc":"2.0","id":)");
  append(std::to_string(id));
  append(R"(,"method":)");
  append(nlohmann::json(std::string(method)).dump());
  append(R"(,"params":{)");
}

void SecretRequest::reserve(std::size_t more) {
  if (length_ + more <= line_.size()) return;
  // Growth copies into a new wiping buffer and wipes the old one; doubling keeps the
  // number of copies of a scan logarithmic.
  // A large request reserves its scans up front (add_base64_list), so it grows once.
  line_.resize(std::max({std::size_t{256}, line_.size() * 2, length_ + more}));
}

void SecretRequest::append(std::string_view text) {
  if (finished_) throw std::logic_error("SecretRequest changed after finish()");
  reserve(text.size());
  std::memcpy(line_.reveal_mutable().data() + length_, text.data(), text.size());
  length_ += text.size();
}

void SecretRequest::append_name(std::string_view name) {
  if (!first_member_) append(",");
  first_member_ = false;
  append(nlohmann::json(std::string(name)).dump());
  append(":");
}

void SecretRequest::add_plain(std::string_view name, const nlohmann::json& value) {
  append_name(name);
  append(value.dump());
}

void SecretRequest::add_text(std::string_view name, const SecretBytes& secret) {
  append_name(name);
  append("\"");
  // JSON string escaping done here, byte by byte, so no unwiped copy of the PIN exists.
  for (std::uint8_t byte : secret.reveal()) {
    if (byte == '"' || byte == '\\') {
      const char escaped[2] = {'\\', static_cast<char>(byte)};
      append(std::string_view(escaped, 2));
    } else if (byte < 0x20) {
      char escaped[7];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      append(std::string_view(escaped, 6));
    } else {
      const char plain = static_cast<char>(byte);
      append(std::string_view(&plain, 1));
    }
  }
  append("\"");
}

void SecretRequest::append_base64(std::span<const std::uint8_t> bytes) {
  append("\"");
  const std::size_t encoded = 4 * ((bytes.size() + 2) / 3);
  reserve(encoded + 1);  // EVP_EncodeBlock writes a terminating NUL
  // EVP_EncodeBlock takes an int length: encode in chunks that are a multiple of 3.
  constexpr std::size_t kChunk = 3u << 20;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::size_t take = std::min(kChunk, bytes.size() - done);
    const int written = EVP_EncodeBlock(line_.reveal_mutable().data() + length_,
                                        bytes.data() + done, static_cast<int>(take));
    length_ += static_cast<std::size_t>(written);
    done += take;
  }
  append("\"");
}

void SecretRequest::add_base64(std::string_view name, const SecretBytes& bytes) {
  append_name(name);
  append_base64(bytes.reveal());
}

void SecretRequest::add_base64_list(std::string_view name, std::span<const SecretBytes> files) {
  std::size_t encoded = name.size() + 8;
  for (const SecretBytes& file : files) encoded += 4 * ((file.size() + 2) / 3) + 3;
  reserve(encoded + 8);  // room for finish() too
  append_name(name);
  append("[");
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i) append(",");
    append_base64(files[i].reveal());
  }
  append("]");
}

void SecretRequest::append_attachment(const SecretBytes& bytes) {
  append(R"({"attachment":)" + std::to_string(announced_.size()) + "}");
  attachments_.push_back(bytes.reveal());
  announced_.push_back(std::to_string(bytes.size()));
}

void SecretRequest::append_passed(OpenFileRef file) {
  append(R"({"attachment":)" + std::to_string(announced_.size()) + "}");
  descriptors_.push_back(file.fd);
  passed_bytes_ += file.size;
  announced_.emplace_back(R"("fd")");
}

void SecretRequest::add_passed_file(std::string_view name, OpenFileRef file) {
  append_name(name);
  append_passed(file);
}

void SecretRequest::add_passed_file_list(std::string_view name,
                                         std::span<const OpenFileRef> files) {
  append_name(name);
  append("[");
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i) append(",");
    append_passed(files[i]);
  }
  append("]");
}

void SecretRequest::add_file(std::string_view name, const SecretBytes& bytes) {
  if (!use_attachments_) return add_base64(name, bytes);
  append_name(name);
  append_attachment(bytes);
}

void SecretRequest::add_file_list(std::string_view name, std::span<const SecretBytes> files) {
  if (!use_attachments_) return add_base64_list(name, files);
  append_name(name);
  append("[");
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i) append(",");
    append_attachment(files[i]);
  }
  append("]");
}

std::size_t SecretRequest::attachment_bytes() const noexcept {
  std::size_t total = 0;
  for (const auto& attachment : attachments_) total += attachment.size();
  return total;
}

const SecretBytes& SecretRequest::finish() {
  if (!finished_) {
    if (!announced_.empty()) {
      // A member of the request object, beside params: the agent reads the sizes before
      // it frames anything else on the connection.
      std::string sizes = R"(},"attachments":[)";
      for (std::size_t i = 0; i < announced_.size(); ++i) {
        if (i) sizes += ",";
        sizes += announced_[i];
      }
      append(sizes + "]}\n");
    } else {
      append("}}\n");
    }
    finished_ = true;
    line_.resize(length_);
  }
  return line_;
}

}  // namespace idvault::cli
