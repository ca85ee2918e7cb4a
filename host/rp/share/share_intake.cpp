#include "host/rp/share/share_intake.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/rp/share/file_kind.h"
#include "vault/account/account_proof.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"
#include "vault/signed/signed_statement.h"

namespace idvault::rp {
namespace {

// Plaintext on disk is the service's own business, but nobody else on the machine may
// read it: 0600, created fresh (O_EXCL: an existing file, say trusted-verifier.pem, is
// never overwritten), never following a planted link. A half-written file is removed.
void write_private_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST)
    throw std::runtime_error("refusing to overwrite " + path.string() + ": it already exists");
  if (fd < 0)
    throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  int error = 0;
  while (done < bytes.size() && error == 0) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      error = errno;
    else
      done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(error));
  }
}

class Reporter {
 public:
  // share_tag: what names this share's files in out_dir, unique per share.
  Reporter(const IntakeOptions& options, std::string share_tag)
      : options_(options), share_tag_(std::move(share_tag)) {
    if (options_.out_dir) {
      std::filesystem::create_directories(*options_.out_dir);
      std::filesystem::permissions(*options_.out_dir, std::filesystem::perms::owner_all);
    }
  }

  // name: the element type and slot, e.g. "passport-front_side" or "utility_bill-files-2".
  nlohmann::ordered_json file(const vault::DecryptedFile& file, const std::string& name) const {
    nlohmann::ordered_json json;
    json["file_id"] = file.file_id;
    if (file.missing()) {
      json["missing"] = true;
      return json;
    }
    const auto bytes = *file.plaintext;
    std::string digest;
    if (options_.file_digests || options_.out_dir) digest = vault::sha256_hex(bytes);
    if (options_.file_digests) json["sha256"] = digest;
    json["size"] = bytes.size();
    if (options_.out_dir) {
      // Named by us, never by the sender's file_id (which no receipt covers).
      const auto path =
          *options_.out_dir / (share_tag_ + "-" + name + "." + file_extension_of(bytes));
      write_private_file(path, bytes);
      json["path"] = path.string();
    }
    return json;
  }

  nlohmann::ordered_json files(const std::vector<vault::DecryptedFile>& list,
                               const std::string& name) const {
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < list.size(); ++i)
      json.push_back(file(list[i], name + "-" + std::to_string(i + 1)));
    return json;
  }

  nlohmann::ordered_json element(const vault::DecryptedElement& element) const {
    nlohmann::ordered_json json;
    const std::string type(vault::to_string(element.type));
    json["type"] = type;
    if (!element.data.is_null()) json["data"] = nlohmann::ordered_json::parse(element.data.dump());
    if (element.phone_number) json["phone_number"] = *element.phone_number;
    if (element.email) json["email"] = *element.email;
    if (element.front_side) json["front_side"] = file(*element.front_side, type + "-front_side");
    if (element.reverse_side)
      json["reverse_side"] = file(*element.reverse_side, type + "-reverse_side");
    if (element.selfie) json["selfie"] = file(*element.selfie, type + "-selfie");
    if (!element.files.empty()) json["files"] = files(element.files, type + "-files");
    if (!element.translation.empty())
      json["translation"] = files(element.translation, type + "-translation");
    return json;
  }

 private:
  const IntakeOptions& options_;
  std::string share_tag_;
};

// The receipt must be the holder's signature over exactly what arrived, for us.
void check_receipt(const vault::ShareReceipt& receipt, const ReceivedShare& share,
                   const vault::DecryptedPassport& passport,
                   const std::string& service_key_sha256) {
  if (!vault::verify_receipt(receipt)) throw ShareRejected("receipt: signature does not verify");
  const auto& fields = receipt.fields;
  if (fields.service_key_sha256 != service_key_sha256)
    throw ShareRejected("receipt: made for another service key");
  if (fields.nonce != passport.nonce)
    throw ShareRejected("receipt: nonce differs from the credentials' nonce");
  if (fields.credentials_hash != share.passport_data.credentials.hash) {
    throw ShareRejected("receipt: does not cover these credentials");
  }
  // A holder's bundle always carries element hashes; one without cannot match a receipt.
  std::map<std::string, std::string> arrived;
  for (const auto& element : share.passport_data.data)
    arrived[std::string(vault::to_string(element.type))] = element.hash.value_or(std::string());
  if (arrived != fields.element_hashes)
    throw ShareRejected("receipt: does not cover these elements");
}

}  // namespace

ShareIntake::ShareIntake(const vault::ServiceKey& service_key)
    : service_key_sha256_(vault::service_key_fingerprint(service_key.public_key_pem())),
      decryptor_(service_key) {}

nlohmann::ordered_json ShareIntake::accept(const ReceivedShare& share,
                                           const IntakeOptions& options) {
  vault::DecryptOptions decrypt_options;
  decrypt_options.expected_nonce = options.expected_nonce;
  decrypt_options.allow_missing_files = true;
  last_ = decryptor_.decrypt(share.passport_data, share.lookup(), decrypt_options);

  // Who the holder is: the receipt's key, and with a valid account proof also the account,
  // which is then the name attestations are bound to.
  std::vector<std::string> holder_ids;
  last_holder_.clear();
  nlohmann::ordered_json receipt_json = nullptr;
  if (share.receipt) {
    check_receipt(*share.receipt, share, last_, service_key_sha256_);
    const std::string holder_key = vault::key_fingerprint(share.receipt->public_key_spki_der);
    receipt_json = {{"valid", true},
                    {"holder_key", holder_key},
                    {"service_id", share.receipt->fields.service_id},
                    {"time", share.receipt->fields.time}};
    if (share.account) {
      vault::ProvenDevice proven;
      try {
        proven = vault::verify_account_proof(*share.account, share.receipt->public_key_spki_der);
      } catch (const vault::AccountProofError& error) {
        throw ShareRejected(error.what());
      }
      receipt_json["account"] = {{"id", proven.account_id},
                                 {"device_id", proven.device_id},
                                 {"log_entries", proven.log_length}};
      holder_ids.push_back(proven.account_id);
    }
    holder_ids.push_back(holder_key);
    last_holder_ = holder_ids.front();
  } else if (share.account) {
    throw ShareRejected("account: a proof without a receipt proves no key");
  }

  // The credentials hash differs for every share (fresh secret) and was checked on
  // decryption: its digest's first 16 hex digits keep two shares' files apart.
  Reporter reporter(
      options, vault::sha256_hex(vault::ByteView(reinterpret_cast<const std::uint8_t*>(
                                                     share.passport_data.credentials.hash.data()),
                                                 share.passport_data.credentials.hash.size()))
                   .substr(0, 16));
  nlohmann::ordered_json report;
  report["nonce"] = last_.nonce;
  nlohmann::ordered_json elements = nlohmann::ordered_json::array();
  for (const auto& element : last_.elements) elements.push_back(reporter.element(element));
  report["elements"] = std::move(elements);
  report["receipt"] = std::move(receipt_json);
  nlohmann::ordered_json attestations = nlohmann::ordered_json::array();
  for (const auto& attestation : share.attestations) {
    const vault::AttestationCheck check = vault::check_attestation(
        attestation, last_, holder_ids, options.trusted_verifiers, options.now);
    nlohmann::ordered_json item;
    item["verifier"] = check.verifier_key_sha256;
    item["type"] = check.element_type
                       ? nlohmann::ordered_json(std::string(vault::to_string(*check.element_type)))
                       : nlohmann::ordered_json(nullptr);
    if (check.level) item["level"] = std::string(vault::to_string(*check.level));
    if (check.expires_at) item["expires_at"] = *check.expires_at;
    item["valid"] = check.valid;
    if (!check.valid) item["reason"] = check.reason;
    attestations.push_back(std::move(item));
  }
  report["attestations"] = std::move(attestations);
  return report;
}

void ShareIntake::wipe() noexcept {
  last_ = vault::DecryptedPassport{};
  last_holder_.clear();
  decryptor_.wipe();
}

}  // namespace idvault::rp
