// The holder's vault: what a person does with their documents, independent of how they
// reach it (agent socket, tests). Puts encrypt every value in Telegram's format under a
// fresh secret and keep only ciphertext plus the secret wrapped by the master key; a
// share sends the stored ciphertext as is and encrypts only the small credentials to
// the service, so its cost does not grow with the scans; every share is signed by the
// identity key and chained into the receipt log.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vault/account/account_proof.h"
#include "vault/keys/keys.h"
#include "vault/keys/recovery_key.h"
#include "vault/model/auth_link.h"
#include "vault/signed/share_receipt.h"
#include "vault/store/receipt_tree.h"
#include "vault/store/vault_store.h"
#include "vault/wire/passport_data.h"
#include "vault/wire/passport_encryptor.h"

namespace idvault::vault {

struct ElementSummary {
  ElementType type = ElementType::personal_details;
  bool has_data = false;
  std::optional<std::string> plain;
  bool front_side = false;
  bool reverse_side = false;
  bool selfie = false;
  std::size_t files = 0;
  std::size_t translation = 0;
  std::int64_t updated_at = 0;
  std::vector<std::string> errors;  // PassportElementError JSON a service sent for it
};

// What a share would contain, for the holder to consent to before anything is sent.
struct ShareOffer {
  std::vector<ElementType> types;  // in scope order, one per satisfiable scope item
  std::vector<std::string>
      missing;  // scope items the vault cannot satisfy, e.g. "passport|identity_card"
  std::map<ElementType, std::vector<std::string>>
      parts;  // what of each goes: data, front_side, selfie...
  // The stored version of each element offered (its element hash, new at every put): the
  // share sends exactly these versions, the ones the holder was shown, or nothing.
  std::map<ElementType, Bytes> versions;
};

struct ShareBundle {
  PassportData passport_data;
  std::map<std::string, std::string> files;  // file_id -> base64 of the ciphertext
  ShareReceipt receipt;
  std::vector<nlohmann::json> attestations;
  // For a vault in a cloud account: the log showing the receipt's key is one of its
  // devices (vault/account/account_proof.h), sent as "account" beside the receipt.
  std::optional<AccountProof> account;
  // The bundle as design.md gives it; passport_data is exactly Bot API PassportData.
  [[nodiscard]] nlohmann::ordered_json to_json() const&;
  // The same, moving the files' base64 (megabytes) into the JSON instead of copying it.
  [[nodiscard]] nlohmann::ordered_json to_json() &&;
};

class HolderVault {
 public:
  // recovery: when set, every value secret put is also sealed to the recovery key.
  HolderVault(VaultStore& store, const MasterKey& master_key,
              const RecoverySealer* recovery = nullptr)
      : store_(store), master_key_(master_key), recovery_(recovery) {}

  // Validates (fields as Telegram would, slots per type) and stores, replacing any
  // element of the same type. Throws FormatError naming the element and field.
  void put(const PlainElement& element);
  // The same, moving the files out of element instead of copying them.
  void put(PlainElement&& element);
  // The same, with a say in how the files are handled.
  struct PutHooks {
    // For an element some of whose files are not in memory yet, only sized (the agent's
    // client passed them as open files): fills such a file, and leaves any other as it
    // is. It runs on the thread that encrypts the file, just before it does, so reading
    // one file overlaps encrypting the others; what it throws fails the put.
    std::function<void(SecretBytes& file)> load;
    // Called with each file's size once it is encrypted, from the thread that did it.
    std::function<void(std::size_t plaintext_bytes)> encrypted;
  };
  void put(PlainElement&& element, const PutHooks& hooks);
  // How many files of one put are encrypted at the same time (default 1). Each
  // ciphertext is written beside the store by the thread that made it, as soon as it
  // is ready, so encryption and disk writes overlap.
  void set_file_threads(unsigned threads) noexcept { file_threads_ = threads == 0 ? 1 : threads; }
  [[nodiscard]] std::optional<PlainElement> get(ElementType type);
  [[nodiscard]] std::vector<ElementSummary> list();
  bool remove(ElementType type);

  // Which stored elements answer the request's scope (first held choice of each one_of).
  [[nodiscard]] ShareOffer plan_share(const AuthorizationRequest& request);
  // Builds the bundle for an offer the holder consented to, signs its receipt with the
  // identity key and appends it to the log. Throws FormatError if the offer names an
  // element that is no longer stored, or that was replaced since the offer was planned
  // (the holder did not consent to the new version).
  [[nodiscard]] ShareBundle share(const AuthorizationRequest& request, const ShareOffer& offer,
                                  const SigningKey& identity_key, std::int64_t now);

 private:
  VaultStore& store_;
  const MasterKey& master_key_;
  const RecoverySealer* recovery_;
  unsigned file_threads_ = 1;

  // pack: where encrypt_elements' sink put the files (null when the element has none).
  void put_encrypted(const PlainElement& clean, EncryptedElements&& encrypted,
                     CiphertextFiles::Pack* pack);
};

// Re-enrols the vault on a new master key: every value secret is unsealed with the
// recovery key, checked against its stored value (the seal's label and the value's hash)
// and wrapped by new_master_key; then, in one transaction, all of them are written with
// the settings (those naming the new token) and removed_settings are deleted. Nothing
// is written if any step fails. Returns how many secrets were moved. Throws FormatError
// naming the element if one was stored without a recovery seal or its seal does not
// open to its value's secret.
std::size_t rewrap_with_recovery(VaultStore& store, const RecoveryOpener& opener,
                                 const MasterKey& new_master_key,
                                 std::vector<std::pair<std::string, Bytes>> settings = {},
                                 std::vector<std::string> removed_settings = {});

// Moves the vault from one key to another (the master key to a cloud account's vault key
// VK, VK to its successor): every value secret of every element and file is unwrapped by
// from and wrapped by to, and in one transaction all of them are written with settings
// and removed_settings are deleted. Nothing is written if any step fails; no file
// ciphertext is read or written, only the rows that hold the wrapped secrets (recovery
// seals stay as they are: they seal the secrets themselves). Returns how many secrets
// were moved. Throws FormatError naming the element if a secret does not open with from.
std::size_t rewrap_secrets(VaultStore& store, const MasterKey& from, const MasterKey& to,
                           std::vector<std::pair<std::string, Bytes>> settings = {},
                           std::vector<std::string> removed_settings = {});

// Seals every stored value secret (unwrapped by master_key) to a new recovery key and
// writes the seals with settings (the new envelope) in one transaction. Returns how
// many secrets were sealed.
std::size_t seal_for_recovery(VaultStore& store, const MasterKey& master_key,
                              const RecoverySealer& sealer,
                              std::vector<std::pair<std::string, Bytes>> settings);

}  // namespace idvault::vault
