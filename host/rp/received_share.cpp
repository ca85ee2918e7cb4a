#include "host/rp/received_share.h"

#include <fstream>

#include "host/rp/base64_block.h"
#include "host/rp/bundle_text.h"
#include "vault/base64.h"
#include "vault/errors.h"
#include "vault/json_fields.h"
#include "vault/quoted_text.h"

namespace idvault::rp {
namespace {

using vault::FormatError;

// A file_id names a file on disk only when it cannot name anything outside the directory.
bool is_plain_file_name(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.front() == '.') return false;
  for (char c : id) {
    if (c == '/' || c == '\0' || c == '\\') return false;
  }
  return true;
}

template <typename Visit>
void for_each_file(const vault::PassportData& data, Visit visit) {
  for (const auto& element : data.data) {
    for (const auto* file : {&element.front_side, &element.reverse_side, &element.selfie}) {
      if (*file) visit(**file);
    }
    for (const auto& file : element.files) visit(file);
    for (const auto& file : element.translation) visit(file);
  }
}

}  // namespace

vault::FileLookup ReceivedShare::lookup() const {
  return [this](std::string_view file_id) -> std::optional<std::span<const std::uint8_t>> {
    auto it = files.find(file_id);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

const ReceivedShare& ShareReader::read(std::string_view json_text,
                                       const std::optional<std::filesystem::path>& files_dir) {
  share_ = ReceivedShare{};
  from_dir_.clear();
  BundleText parts = split_bundle_text(json_text);
  if (!parts.passport_data.empty()) {
    share_.is_bundle = true;
    share_.passport_data = vault::passport_data_from_json(
        vault::json_fields::parse(parts.passport_data, "passport_data"));
    if (parts.receipt.empty())
      throw FormatError("bundle.receipt", "missing: a bundle carries the holder's receipt");
    share_.receipt = vault::receipt_from_json(vault::json_fields::parse(parts.receipt, "receipt"));
    if (!parts.attestations.empty()) {
      nlohmann::json list = vault::json_fields::parse(parts.attestations, "attestations");
      if (!list.is_array()) throw FormatError("attestations", "must be an array");
      for (auto& item : list) share_.attestations.push_back(std::move(item));
    }
    std::size_t capacity = 0;
    for (const auto& [id, text] : parts.files)
      capacity += vault::base64_decoded_capacity(text.size());
    // Sized once up front: the spans handed out below must not move.
    if (decoded_.size() < capacity) decoded_.resize(capacity);
    std::size_t used = 0;
    for (const auto& [id, text] : parts.files) {
      auto out = std::span(decoded_).subspan(used, vault::base64_decoded_capacity(text.size()));
      auto bytes = decode_base64_block(text, out, "bundle.files." + id);
      used += bytes.size();
      share_.files.emplace(id, bytes);
    }
  } else {
    // Not a bundle: the text must be a Bot API PassportData, which is small.
    share_.passport_data =
        vault::passport_data_from_json(vault::json_fields::parse(json_text, "passport_data"));
  }
  if (files_dir) {
    for_each_file(share_.passport_data, [&](const vault::PassportFile& file) {
      if (share_.files.count(file.file_id) != 0) return;
      if (!is_plain_file_name(file.file_id)) {
        throw FormatError("files_dir", "file_id " + vault::quote_untrusted(file.file_id) +
                                           " is not a plain file name");
      }
      std::ifstream in(*files_dir / file.file_id, std::ios::binary);
      if (!in) return;  // reported as missing
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
      const auto& kept = from_dir_.emplace_back(std::move(bytes));
      share_.files.emplace(file.file_id, std::span<const std::uint8_t>(kept));
    });
  }
  return share_;
}

}  // namespace idvault::rp
