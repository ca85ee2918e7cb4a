// What a relying party does with one received share: decrypt it with the service key
// (the RSA step on the HSM when the key is a TokenServiceKey), check every hash and the
// nonce, check the holder's receipt against what arrived, judge each attestation, and
// describe the result as the one JSON object `idvault-rp decrypt` prints per input.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/rp/share/received_share.h"
#include "vault/keys/keys.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::rp {

// The share arrived but cannot be accepted as it is: its receipt does not verify or does
// not describe what arrived. (Bad format is vault::FormatError, failed decryption
// vault::DecryptError.)
class ShareRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IntakeOptions {
  std::optional<std::string> expected_nonce;
  std::vector<vault::Bytes> trusted_verifiers;   // SPKI DER of attestation keys
  std::optional<std::filesystem::path> out_dir;  // plaintext files go here when set
  bool file_digests = true;                      // "sha256" of each plaintext in the report
  std::int64_t now = 0;                          // Unix seconds, for attestation expiry
};

class ShareIntake {
 public:
  // The key must outlive the intake. One intake per thread (it owns a decryptor).
  explicit ShareIntake(const vault::ServiceKey& service_key);

  // The report:
  //   {"nonce", "elements": [{"type", "data"?, "phone_number"?, "email"?,
  //     "front_side"|"reverse_side"|"selfie": {"file_id","sha256","size"[,"path"]} or
  //     {"file_id","missing":true}, "files"|"translation": [...]}],
  //    "receipt": {"valid", "holder_key", "service_id", "time",
  //                "account"?: {"id", "device_id", "log_entries"}} (null for bare PassportData),
  //    "attestations": [{"verifier", "type", "level", "valid", "reason"?}]}
  // "account" is there when the bundle carried an account proof that verified
  // (vault/account/account_proof.h); one that does not is ShareRejected with its reason.
  // Attestations then hold when issued to the account id or to the receipt's key.
  // Throws vault::FormatError, vault::DecryptError, ShareRejected, or the PKCS#11
  // layer's token errors (token gone, not logged in), which are about the HSM, not the input.
  [[nodiscard]] nlohmann::ordered_json accept(const ReceivedShare& share,
                                              const IntakeOptions& options);

  // The last accepted share, decrypted; its plaintexts live until the next accept().
  [[nodiscard]] const vault::DecryptedPassport& last() const noexcept { return last_; }
  // Whom the last accepted share binds attestations to: the account id when it carried a
  // valid account proof, else the hex SHA-256 of its receipt's key; empty without a receipt.
  [[nodiscard]] const std::string& last_holder() const noexcept { return last_holder_; }
  // Overwrites the plaintexts now.
  void wipe() noexcept;

 private:
  std::string service_key_sha256_;
  vault::PassportDecryptor decryptor_;
  vault::DecryptedPassport last_;
  std::string last_holder_;
};

}  // namespace idvault::rp
