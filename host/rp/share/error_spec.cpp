#include "host/rp/share/error_spec.h"

#include <charconv>
#include <string>

#include "common/base64.h"
#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

using vault::ErrorSource;
using vault::FormatError;

const vault::DecryptedFile& file_at(const std::vector<vault::DecryptedFile>& files,
                                    std::string_view index, const std::string& where) {
  std::size_t i = 0;
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), i);
  if (ec != std::errc() || end != index.data() + index.size())
    throw FormatError(where, "index must be a number");
  if (i >= files.size()) {
    throw FormatError(where, "index " + std::to_string(i) + " out of range (" +
                                 std::to_string(files.size()) + " files)");
  }
  return files[i];
}

vault::Bytes hash_of(const std::optional<vault::DecryptedFile>& file, std::string_view slot,
                     const std::string& where) {
  if (!file) throw FormatError(where, "the element has no " + std::string(slot));
  return file->file_hash;
}

// Every other source names what it points at by a hash from the credentials, which every
// share has; only an unspecified error echoes the element's own hash.
std::string no_element_hash_reason(const std::string& type) {
  return "the " + type +
         " element came without a hash (Bot API data from before the server added one), and an "
         "unspecified error can only name an element by it; report a data field "
         "(data:" +
         type +
         ":FIELD) or a file (front_side, reverse_side, selfie, file, files, "
         "translation_file, translation_files) of it instead";
}

}  // namespace

vault::PassportElementError error_from_spec(std::string_view spec,
                                            const vault::DecryptedPassport& share,
                                            const vault::PassportData& received) {
  const auto equals = spec.find('=');
  const std::string head(spec.substr(0, equals == std::string_view::npos ? spec.size() : equals));
  const std::string where = "error '" + head.substr(0, 80) + "'";
  if (equals == std::string_view::npos)
    throw FormatError(where, "expected SOURCE:TYPE[:FIELD|INDEX]=MESSAGE");
  vault::PassportElementError error;
  error.message = std::string(spec.substr(equals + 1));
  if (error.message.empty()) throw FormatError(where, "the message is empty");

  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto colon = head.find(':', start);
    parts.push_back(
        head.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    throw FormatError(where, "expected SOURCE:TYPE[:FIELD|INDEX]");
  const auto source = vault::parse_error_source(parts[0]);
  if (!source) throw FormatError(where, "unknown source '" + parts[0] + "'");
  const auto type = vault::parse_element_type(parts[1]);
  if (!type) throw FormatError(where, "unknown element type '" + parts[1] + "'");
  error.source = *source;
  error.type = *type;
  const bool takes_third = *source == ErrorSource::data || *source == ErrorSource::file ||
                           *source == ErrorSource::translation_file;
  if (takes_third != (parts.size() == 3)) {
    throw FormatError(where, takes_third ? "this source needs :FIELD or :INDEX"
                                         : "this source takes no :FIELD or :INDEX");
  }
  if (!vault::source_allows(*source, *type)) {
    throw FormatError(where, "a " + parts[0] + " error cannot name " + parts[1]);
  }
  const vault::DecryptedElement* element = share.find(*type);
  if (!element) throw FormatError(where, "the share holds no " + parts[1]);

  switch (*source) {
    case ErrorSource::data:
      error.field_name = parts[2];
      error.hashes.push_back(element->data_hash);
      break;
    case ErrorSource::front_side:
      error.hashes.push_back(hash_of(element->front_side, "front_side", where));
      break;
    case ErrorSource::reverse_side:
      error.hashes.push_back(hash_of(element->reverse_side, "reverse_side", where));
      break;
    case ErrorSource::selfie:
      error.hashes.push_back(hash_of(element->selfie, "selfie", where));
      break;
    case ErrorSource::file:
      error.hashes.push_back(file_at(element->files, parts[2], where).file_hash);
      break;
    case ErrorSource::translation_file:
      error.hashes.push_back(file_at(element->translation, parts[2], where).file_hash);
      break;
    case ErrorSource::files:
    case ErrorSource::translation_files: {
      const auto& list = *source == ErrorSource::files ? element->files : element->translation;
      if (list.empty()) throw FormatError(where, "the element has no such files");
      for (const auto& file : list) error.hashes.push_back(file.file_hash);
      break;
    }
    case ErrorSource::unspecified:
      for (const auto& sent : received.data) {
        if (sent.type != *type) continue;
        if (!sent.hash) throw FormatError(where, no_element_hash_reason(parts[1]));
        error.hashes.push_back(base64_decode(*sent.hash, where + ".element_hash"));
      }
      break;
  }
  vault::validate_element_error(error, vault::Strictness::own_output, where);
  return error;
}

}  // namespace idvault::rp
