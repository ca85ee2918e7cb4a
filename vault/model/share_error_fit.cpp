#include "vault/model/share_error_fit.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

// The stored slot a file error's source points into.
std::string_view slot_of(ErrorSource source) noexcept {
  switch (source) {
    case ErrorSource::front_side:
      return "front_side";
    case ErrorSource::reverse_side:
      return "reverse_side";
    case ErrorSource::selfie:
      return "selfie";
    case ErrorSource::file:
    case ErrorSource::files:
      return "files";
    case ErrorSource::translation_file:
    case ErrorSource::translation_files:
      return "translation";
    case ErrorSource::data:
    case ErrorSource::unspecified:
      break;
  }
  return {};
}

// The hashes of the element an error of this source may name.
std::vector<Bytes> own_hashes(const PassportElementError& error, const StoredElement& element) {
  if (error.source == ErrorSource::data) return {element.data_hash};
  if (error.source == ErrorSource::unspecified) return {element.element_hash};
  std::vector<Bytes> hashes;
  const std::string_view slot = slot_of(error.source);
  for (const StoredFile& file : element.files) {
    if (file.slot == slot) hashes.push_back(file.file_hash);
  }
  return hashes;
}

}  // namespace

ErrorFit fit_error_to_share(const PassportElementError& error, const ReceiptFields& share,
                            const std::optional<StoredElement>& stored, const std::string& where) {
  const std::string type(to_string(error.type));
  const auto shared = share.element_hashes.find(type);
  if (shared == share.element_hashes.end())
    throw FormatError(where, "the share did not include " + type);
  if (!stored || base64_encode(stored->element_hash) != shared->second) return ErrorFit::outdated;
  const std::vector<Bytes> own = own_hashes(error, *stored);
  for (const Bytes& hash : error.hashes) {
    if (std::find(own.begin(), own.end(), hash) == own.end()) {
      throw FormatError(where + "." + std::string(hash_key(error.source)),
                        "is not the hash of the " + type + " that was shared");
    }
  }
  return ErrorFit::current;
}

}  // namespace idvault::vault
