// One input a relying party received: a share bundle (design.md: passport_data, files,
// receipt, attestations) or a bare Bot API PassportData whose files come from a
// directory, named by file_id, as a bot would have downloaded them.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vault/account/account_proof.h"
#include "vault/signed/share_receipt.h"
#include "vault/wire/passport_data.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::rp {

struct ReceivedShare {
  vault::PassportData passport_data;
  bool is_bundle = false;
  std::optional<vault::ShareReceipt> receipt;  // bundles carry one; bare PassportData none
  // A cloud account's proof that the receipt's key is one of its devices (bundles of a
  // vault in an account; vault/account/account_proof.h). Read here, verified on intake.
  std::optional<vault::AccountProof> account;
  std::vector<nlohmann::json> attestations;
  // file_id -> ciphertext; views into the ShareReader (or whoever filled it).
  std::map<std::string, std::span<const std::uint8_t>, std::less<>> files;

  [[nodiscard]] vault::FileLookup lookup() const;
};

// Reads inputs into storage it keeps and reuses, so a worker reading many bundles does
// not pay for fresh buffers each time. One per thread.
class ShareReader {
 public:
  // Throws vault::FormatError naming the part ("bundle.files.<id>", "passport_data.data[1]
  // .front_side", "receipt.signed.nonce", "files_dir.<id>"). files_dir supplies every file
  // the input does not carry itself; file_ids that are not plain file names are refused
  // there. The result is valid until the next read().
  const ReceivedShare& read(std::string_view json_text,
                            const std::optional<std::filesystem::path>& files_dir);

 private:
  void read_from_dir(const std::filesystem::path& dir);

  ReceivedShare share_;
  std::vector<std::uint8_t> decoded_;
  std::vector<std::uint8_t> from_dir_;
};

}  // namespace idvault::rp
