#include "vault/store/holder_vault.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include "common/base64.h"
#include "vault/model/element_data.h"
#include "vault/model/element_shape.h"
#include "vault/model/errors.h"
#include "vault/model/plain_value.h"
#include "vault/signed/kept_attestation.h"
#include "vault/wire/value_cipher.h"

namespace idvault::vault {
namespace {

// The receipt a new one follows: this device's own latest (one signed by its identity
// key), so each device extends a line of its own and never forks it, whatever order the
// other devices' receipts arrived in by sync; a device with none yet (new, or recovered
// onto a fresh token) follows the newest receipt it holds, joining the account's history
// rather than starting a root of its own. Scanned from the newest: a device's own latest
// is normally among the last few.
std::string chain_point(VaultStore& store, const Bytes& identity_key) {
  const std::vector<StoredReceipt> receipts = store.receipts();
  for (auto stored = receipts.rbegin(); stored != receipts.rend(); ++stored) {
    try {
      if (receipt_from_json(nlohmann::json::parse(stored->receipt_json)).public_key_spki_der ==
          identity_key) {
        return {stored->entry_hash.begin(), stored->entry_hash.end()};
      }
    } catch (const std::exception&) {  // an unreadable receipt is shares --verify's to report
    }
  }
  if (receipts.empty()) return std::string(kZeroEntryHash);
  return {receipts.back().entry_hash.begin(), receipts.back().entry_hash.end()};
}

SecretBytes unwrap_secret(const MasterKey& key, const Bytes& wrapped) {
  return key.unwrap(wrapped);
}

ValueSecret value_secret(SecretBytes bytes, std::string_view where) {
  return ValueSecret::from_bytes(std::move(bytes), where);
}

// Only attestations that still speak for the element as shared go out: one of a
// replaced version would leak that version's hashes (vault/kept_attestation.h).
void add_current_attestations(VaultStore& store, const StoredElement& element, std::int64_t now,
                              std::vector<nlohmann::json>& out) {
  for (const StoredNote& note : store.attestations()) {
    if (note.type != element.type) continue;
    nlohmann::json json = nlohmann::json::parse(note.json, nullptr, false);
    try {
      if (stale_reason(attestation_from_json(json), element, now).empty())
        out.push_back(std::move(json));
    } catch (const FormatError&) {
      // Unreadable: vouches for nothing, so it is not sent.
    }
  }
}

ElementShape shape_of(const PlainElement& element) {
  ElementShape shape;
  shape.data = !element.data.is_null();
  shape.plain = !element.value.empty();
  shape.front_side = element.front_side.has_value();
  shape.reverse_side = element.reverse_side.has_value();
  shape.selfie = element.selfie.has_value();
  shape.translation_count = element.translation.size();
  shape.file_count = element.files.size();
  return shape;
}

// Validates and returns the element with its data in our canonical form. The files are
// moved, not copied: they are the megabytes of a put.
PlainElement validated(PlainElement&& element) {
  validate_element_shape(element.type, shape_of(element));
  PlainElement clean;
  clean.type = element.type;
  if (!element.data.is_null()) {
    clean.data = nlohmann::json::parse(to_json_text(
        element.type, parse_element_data(element.type, element.data, Strictness::own_output)));
  }
  if (element.type == ElementType::phone_number)
    clean.value = normalize_phone_number(element.value);
  if (element.type == ElementType::email) {
    validate_email(element.value);
    clean.value = element.value;
  }
  clean.front_side = std::move(element.front_side);
  clean.reverse_side = std::move(element.reverse_side);
  clean.selfie = std::move(element.selfie);
  clean.files = std::move(element.files);
  clean.translation = std::move(element.translation);
  return clean;
}

// The element's files, moved out (what stays behind is empty).
std::vector<SecretBytes> take_files(PlainElement& element) {
  std::vector<SecretBytes> files;
  for_each_file(element, [&files](SecretBytes& file) { files.push_back(std::move(file)); });
  return files;
}

PlainElement copy_of(const PlainElement& element) {
  PlainElement copy;
  copy.type = element.type;
  copy.data = element.data;
  copy.value = element.value;
  if (element.front_side) copy.front_side = element.front_side->clone();
  if (element.reverse_side) copy.reverse_side = element.reverse_side->clone();
  if (element.selfie) copy.selfie = element.selfie->clone();
  for (const auto& file : element.files) copy.files.push_back(file.clone());
  for (const auto& file : element.translation) copy.translation.push_back(file.clone());
  return copy;
}

}  // namespace

void HolderVault::put(const PlainElement& element) {
  put(copy_of(element));
}

void HolderVault::put(PlainElement&& element) {
  put(std::move(element), PutHooks());
}

void HolderVault::put(PlainElement&& element, const PutHooks& hooks) {
  PlainElement clean = validated(std::move(element));
  // Ciphertexts go to the put's pack beside the store as they are made; if the put
  // fails before its commit, the pack is removed (after a crash, the next open does).
  std::unique_ptr<CiphertextFiles::Pack> pack;
  FileEncryption how;
  how.threads = file_threads_;
  if (clean.front_side || clean.reverse_side || clean.selfie || !clean.files.empty() ||
      !clean.translation.empty()) {
    pack = store_.open_pack();
    how.sink = [&pack](PageAlignedBytes&& ciphertext) {
      return pack->append_later(std::move(ciphertext));
    };
  }
  // The encryptor hands each file back as it is about to read it; the loader gets the
  // same file as ours to fill (clean is this function's own, so it may be written).
  std::vector<SecretBytes*> fillable;
  if (hooks.load) {
    for_each_file(clean, [&fillable](SecretBytes& file) { fillable.push_back(&file); });
    how.before_encrypting = [&fillable, &hooks](const SecretBytes& file) {
      const auto own = std::find(fillable.begin(), fillable.end(), &file);
      if (own != fillable.end()) hooks.load(**own);
    };
  }
  if (hooks.encrypted)
    how.after_encrypting = [&hooks](const SecretBytes& file) { hooks.encrypted(file.size()); };
  try {
    EncryptedElements encrypted = encrypt_elements(std::span(&clean, 1), how);
    // The files' plaintext is wiped and freed on another thread while the secrets are
    // wrapped on the token and the pack is synced, not after: wiping megabytes was the
    // last thing between the commit and the answer. Joined before put returns. (An
    // element without files has no pack and nothing to wipe: no thread.)
    std::jthread release_plaintext;
    if (pack)
      release_plaintext = std::jthread([files = take_files(clean)]() mutable { files.clear(); });
    put_encrypted(clean, std::move(encrypted), pack.get());
  } catch (...) {
    if (pack) store_.discard_pack(pack->name());
    throw;
  }
}

void HolderVault::put_encrypted(const PlainElement& clean, EncryptedElements&& encrypted,
                                CiphertextFiles::Pack* pack) {
  const EncryptedPassportElement& out = encrypted.elements.at(0);

  StoredElement stored;
  stored.type = clean.type;
  stored.element_hash = base64_decode(out.hash.value(), "element.hash");
  if (out.phone_number) stored.plain = *out.phone_number;
  if (out.email) stored.plain = *out.email;

  auto secure = encrypted.credentials.secure_data.find(clean.type);
  if (secure != encrypted.credentials.secure_data.end()) {
    const SecureValueCredentials& credentials = secure->second;
    if (out.data && credentials.data) {
      stored.data = base64_decode(*out.data, "element.data");
      stored.data_hash = credentials.data->data_hash;
      SecretBytes secret(credentials.data->secret.reveal());
      stored.wrapped_data_secret = master_key_.wrap(secret);
      if (recovery_) {
        stored.recovery_sealed_data_secret =
            recovery_->seal(secret, recovery_seal_label(to_string(clean.type), "data", ""));
      }
    }
    const auto keep = [&](const PassportFile& file, const FileCredentials& file_credentials,
                          const char* slot, int position) {
      StoredFile stored_file;
      stored_file.file_id = file.file_id;
      stored_file.slot = slot;
      stored_file.position = position;
      if (auto sunk = encrypted.sunk_files.find(file.file_id); sunk != encrypted.sunk_files.end()) {
        stored_file.stored_name = pack->name();  // written beside the store; put_element syncs it
        stored_file.stored_offset = sunk->second;
        stored_file.ciphertext_size = static_cast<std::size_t>(file.file_size);
      } else {
        stored_file.ciphertext = std::move(encrypted.files.at(file.file_id));
      }
      stored_file.file_hash = file_credentials.file_hash;
      SecretBytes secret(file_credentials.secret.reveal());
      stored_file.wrapped_secret = master_key_.wrap(secret);
      if (recovery_) {
        stored_file.recovery_sealed_secret =
            recovery_->seal(secret, recovery_seal_label(to_string(clean.type), slot, file.file_id));
      }
      stored_file.file_date = file.file_date;
      stored.files.push_back(std::move(stored_file));
    };
    if (out.front_side) keep(*out.front_side, *credentials.front_side, "front_side", 0);
    if (out.reverse_side) keep(*out.reverse_side, *credentials.reverse_side, "reverse_side", 0);
    if (out.selfie) keep(*out.selfie, *credentials.selfie, "selfie", 0);
    for (std::size_t i = 0; i < out.files.size(); ++i)
      keep(out.files[i], credentials.files[i], "files", static_cast<int>(i));
    for (std::size_t i = 0; i < out.translation.size(); ++i) {
      keep(out.translation[i], credentials.translation[i], "translation", static_cast<int>(i));
    }
  }
  // The last ciphertexts were being written while the secrets were wrapped on the token.
  if (pack) pack->finish();
  store_.put_element(stored);
}

std::optional<PlainElement> HolderVault::get(ElementType type) {
  auto stored = store_.element(type, true);
  if (!stored) return std::nullopt;
  PlainElement element;
  element.type = type;
  if (stored->plain) element.value = *stored->plain;
  ValueDecryptor decryptor;
  const std::string where(to_string(type));
  if (stored->data) {
    ValueSecret secret =
        value_secret(unwrap_secret(master_key_, stored->wrapped_data_secret), where + ".data");
    SecretBytes text = decryptor.decrypt(*stored->data, stored->data_hash, secret);
    element.data = nlohmann::json::parse(text.reveal_text());
  }
  for (const StoredFile& file : stored->files) {
    ValueSecret secret =
        value_secret(unwrap_secret(master_key_, file.wrapped_secret), where + "." + file.slot);
    SecretBytes plaintext = decryptor.decrypt(file.ciphertext, file.file_hash, secret);
    if (file.slot == "front_side")
      element.front_side = std::move(plaintext);
    else if (file.slot == "reverse_side")
      element.reverse_side = std::move(plaintext);
    else if (file.slot == "selfie")
      element.selfie = std::move(plaintext);
    else if (file.slot == "files")
      element.files.push_back(std::move(plaintext));
    else
      element.translation.push_back(std::move(plaintext));
  }
  return element;
}

std::vector<ElementSummary> HolderVault::list() {
  std::vector<ElementSummary> summaries;
  std::map<ElementType, std::vector<std::string>> errors;
  for (const StoredNote& note : store_.element_errors()) errors[note.type].push_back(note.json);
  for (const StoredElement& stored : store_.elements(false)) {
    ElementSummary summary;
    summary.type = stored.type;
    summary.has_data = stored.data.has_value();
    summary.plain = stored.plain;
    summary.updated_at = stored.updated_at;
    for (const StoredFile& file : stored.files) {
      if (file.slot == "front_side")
        summary.front_side = true;
      else if (file.slot == "reverse_side")
        summary.reverse_side = true;
      else if (file.slot == "selfie")
        summary.selfie = true;
      else if (file.slot == "files")
        ++summary.files;
      else
        ++summary.translation;
    }
    summary.errors = errors[stored.type];
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

bool HolderVault::remove(ElementType type) {
  return store_.remove_element(type);
}

ShareOffer HolderVault::plan_share(const AuthorizationRequest& request) {
  ShareOffer offer;
  std::vector<ElementType> held;
  for (const StoredElement& stored : store_.elements(false)) held.push_back(stored.type);
  const auto is_held = [&](ElementType type) {
    return std::find(held.begin(), held.end(), type) != held.end();
  };
  for (const ScopeItem& item : request.scope.items) {
    auto chosen = std::find_if(item.choices.begin(), item.choices.end(),
                               [&](const ScopeChoice& choice) { return is_held(choice.type); });
    if (chosen == item.choices.end()) {
      std::string names;
      for (const ScopeChoice& choice : item.choices) {
        if (!names.empty()) names += "|";
        names += to_string(choice.type);
      }
      offer.missing.push_back(names);
      continue;
    }
    offer.types.push_back(chosen->type);
  }
  for (ElementType type : offer.types) {
    auto stored = store_.element(type, false);
    offer.versions[type] = stored->element_hash;
    std::vector<std::string>& parts = offer.parts[type];
    if (stored->data) parts.push_back("data");
    if (stored->plain) parts.emplace_back(to_string(type));
    for (const StoredFile& file : stored->files) {
      if (file.slot == "selfie" && !request.scope.wants_selfie(type)) continue;
      if (file.slot == "translation" && !request.scope.wants_translation(type)) continue;
      if (std::find(parts.begin(), parts.end(), file.slot) == parts.end())
        parts.push_back(file.slot);
    }
  }
  return offer;
}

ShareBundle HolderVault::share(const AuthorizationRequest& request, const ShareOffer& offer,
                               const SigningKey& identity_key, std::int64_t now) {
  ShareBundle bundle;
  Credentials credentials;
  credentials.nonce = request.nonce;
  ReceiptFields fields;

  for (ElementType type : offer.types) {
    const std::string where(to_string(type));
    auto stored = store_.element(type, true);
    if (!stored) throw FormatError(where, "no longer stored");
    const auto consented = offer.versions.find(type);
    if (consented == offer.versions.end() || consented->second != stored->element_hash) {
      throw FormatError(where, "was changed after the holder was asked: nothing shared; ask again");
    }
    EncryptedPassportElement element;
    element.type = type;
    element.hash = base64_encode(stored->element_hash);
    if (stored->plain)
      (type == ElementType::phone_number ? element.phone_number : element.email) = *stored->plain;
    SecureValueCredentials secure;
    if (stored->data) {
      element.data = base64_encode(*stored->data);
      secure.data = DataCredentials{
          stored->data_hash,
          value_secret(unwrap_secret(master_key_, stored->wrapped_data_secret), where)};
    }
    for (StoredFile& file : stored->files) {
      if (file.slot == "selfie" && !request.scope.wants_selfie(type))
        continue;  // as Telegram's clients do
      if (file.slot == "translation" && !request.scope.wants_translation(type)) continue;
      PassportFile passport_file;
      passport_file.file_id = file.file_id;
      passport_file.file_unique_id = file.file_id.substr(0, 16);
      passport_file.file_size = static_cast<std::int64_t>(file.ciphertext.size());
      passport_file.file_date = file.file_date;
      FileCredentials file_credentials{
          file.file_hash, value_secret(unwrap_secret(master_key_, file.wrapped_secret), where)};
      if (file.slot == "front_side") {
        element.front_side = passport_file;
        secure.front_side = std::move(file_credentials);
      } else if (file.slot == "reverse_side") {
        element.reverse_side = passport_file;
        secure.reverse_side = std::move(file_credentials);
      } else if (file.slot == "selfie") {
        element.selfie = passport_file;
        secure.selfie = std::move(file_credentials);
      } else if (file.slot == "files") {
        element.files.push_back(passport_file);
        secure.files.push_back(std::move(file_credentials));
      } else {
        element.translation.push_back(passport_file);
        secure.translation.push_back(std::move(file_credentials));
      }
      bundle.files.emplace(file.file_id, base64_encode(file.ciphertext));
    }
    if (!rules_for(type).plain) credentials.secure_data.emplace(type, std::move(secure));
    fields.element_hashes[where] = *element.hash;
    bundle.passport_data.data.push_back(std::move(element));
    add_current_attestations(store_, *stored, now, bundle.attestations);
  }

  bundle.passport_data.credentials = encrypt_credentials(credentials, request.public_key_pem);

  fields.service_id = request.service_id;
  fields.service_key_sha256 = service_key_fingerprint(request.public_key_pem);
  fields.nonce = request.nonce;
  fields.credentials_hash = bundle.passport_data.credentials.hash;
  fields.time = now;
  fields.previous = chain_point(store_, identity_key.public_key_spki_der());
  bundle.receipt = sign_receipt(std::move(fields), identity_key);

  const std::string entry_hash = receipt_entry_hash(bundle.receipt);
  StoredReceipt stored_receipt;
  stored_receipt.receipt_json = to_json(bundle.receipt).dump();
  stored_receipt.previous_hash =
      Bytes(bundle.receipt.fields.previous.begin(), bundle.receipt.fields.previous.end());
  stored_receipt.entry_hash = Bytes(entry_hash.begin(), entry_hash.end());
  store_.append_receipt(stored_receipt);
  return bundle;
}

namespace {

// One stored value secret, handed to a SecretChange: an element's data secret (file is
// null) or one of its files' secrets. where names it in errors ("passport.front_side").
using SecretChange =
    std::function<void(StoredElement& element, StoredFile* file, const std::string& where)>;

// What every change of the value secrets shares: change_one is called once for each stored
// secret, in memory, and then every row is written with the settings (and the named ones
// removed) in one transaction, so a crash or a throw anywhere before the commit leaves the
// vault exactly as it was. No file ciphertext is written: replace_secrets updates rows
// only. with_file_bytes reads each element's file ciphertexts for change_one (one element
// at a time: scans are megabytes), and drops them before the row is kept. Returns how
// many secrets change_one saw.
std::size_t change_every_secret(VaultStore& store, bool with_file_bytes,
                                std::vector<std::pair<std::string, Bytes>> settings,
                                std::vector<std::string> removed_settings,
                                const SecretChange& change_one) {
  VaultStore::SecretsChange change;
  change.settings = std::move(settings);
  change.removed_settings = std::move(removed_settings);
  std::size_t seen = 0;
  for (ElementType type : kAllElementTypes) {
    std::optional<StoredElement> element = store.element(type, with_file_bytes);
    if (!element) continue;
    const std::string where(to_string(type));
    if (element->data) {
      change_one(*element, nullptr, where + ".data");
      ++seen;
    }
    for (StoredFile& file : element->files) {
      change_one(*element, &file, where + "." + file.slot);
      ++seen;
      file.ciphertext = Bytes();
    }
    element->data.reset();
    change.elements.push_back(std::move(*element));
  }
  store.replace_secrets(change);
  return seen;
}

}  // namespace

std::size_t rewrap_with_recovery(VaultStore& store, const RecoveryOpener& opener,
                                 const MasterKey& new_master_key,
                                 std::vector<std::pair<std::string, Bytes>> settings,
                                 std::vector<std::string> removed_settings) {
  ValueDecryptor decryptor;
  // The store is not trusted: a seal must open with its own label and the secret inside
  // must decrypt its own value to its stored hash, or nothing is committed. That keeps a
  // seal swapped between rows, or one sealed to a value the holder never had by someone
  // who only knew the public key and did not also make the value's ciphertext, out.
  const auto checked = [&](ByteView sealed, const std::string& label, ByteView ciphertext,
                           ByteView hash, const std::string& where) {
    if (sealed.empty())
      throw FormatError(where, "stored before recovery was set up: it cannot be recovered");
    SecretBytes secret;
    try {
      secret = opener.unseal(sealed, label);
      ValueSecret value = ValueSecret::from_bytes(secret.clone(), where);
      (void)decryptor.decrypt(ciphertext, hash, value);
    } catch (const DecryptError&) {
      throw FormatError(
          where,
          "its recovery seal does not open to the secret of its stored value (the store was "
          "altered or damaged): nothing was recovered");
    }
    return new_master_key.wrap(secret);
  };
  return change_every_secret(
      store, true, std::move(settings), std::move(removed_settings),
      [&](StoredElement& element, StoredFile* file, const std::string& where) {
        const std::string type(to_string(element.type));
        if (file == nullptr) {
          element.wrapped_data_secret =
              checked(element.recovery_sealed_data_secret, recovery_seal_label(type, "data", ""),
                      *element.data, element.data_hash, where);
        } else {
          file->wrapped_secret = checked(file->recovery_sealed_secret,
                                         recovery_seal_label(type, file->slot, file->file_id),
                                         file->ciphertext, file->file_hash, where);
        }
      });
}

std::size_t rewrap_secrets(VaultStore& store, const MasterKey& from, const MasterKey& to,
                           std::vector<std::pair<std::string, Bytes>> settings,
                           std::vector<std::string> removed_settings) {
  return change_every_secret(
      store, false, std::move(settings), std::move(removed_settings),
      [&](StoredElement& element, StoredFile* file, const std::string& where) {
        Bytes& wrapped = file == nullptr ? element.wrapped_data_secret : file->wrapped_secret;
        SecretBytes secret;
        try {
          secret = from.unwrap(wrapped);
        } catch (const DecryptError&) {
          throw FormatError(where,
                            "its secret does not open with the vault's current key (the store "
                            "was altered or damaged): nothing was re-wrapped");
        }
        wrapped = to.wrap(secret);
      });
}

std::size_t seal_for_recovery(VaultStore& store, const MasterKey& master_key,
                              const RecoverySealer& sealer,
                              std::vector<std::pair<std::string, Bytes>> settings) {
  return change_every_secret(store, false, std::move(settings), {},
                             [&](StoredElement& element, StoredFile* file, const std::string&) {
                               const std::string type(to_string(element.type));
                               if (file == nullptr) {
                                 element.recovery_sealed_data_secret =
                                     sealer.seal(master_key.unwrap(element.wrapped_data_secret),
                                                 recovery_seal_label(type, "data", ""));
                               } else {
                                 file->recovery_sealed_secret = sealer.seal(
                                     master_key.unwrap(file->wrapped_secret),
                                     recovery_seal_label(type, file->slot, file->file_id));
                               }
                             });
}

nlohmann::ordered_json ShareBundle::to_json() const& {
  ShareBundle copy{passport_data, files, receipt, attestations, account};
  return std::move(copy).to_json();
}

nlohmann::ordered_json ShareBundle::to_json() && {
  nlohmann::ordered_json json;
  json["passport_data"] = vault::to_json(passport_data);
  nlohmann::ordered_json file_map = nlohmann::ordered_json::object();
  for (auto& [id, text] : files) file_map[id] = std::move(text);
  json["files"] = std::move(file_map);
  json["receipt"] = vault::to_json(receipt);
  if (account) json["account"] = vault::to_json(*account);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& attestation : attestations)
    list.push_back(nlohmann::ordered_json::parse(attestation.dump()));
  json["attestations"] = std::move(list);
  return json;
}

}  // namespace idvault::vault
