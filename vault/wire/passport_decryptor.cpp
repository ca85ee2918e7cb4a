#include "vault/wire/passport_decryptor.h"

#include <openssl/crypto.h>

#include "common/base64.h"
#include "common/json_fields.h"
#include "vault/model/errors.h"
#include "vault/wire/credentials.h"

namespace idvault::vault {
namespace {

using Ciphertext = std::optional<std::span<const std::uint8_t>>;

std::string slot_path(ElementType type, std::string_view slot) {
  return std::string(to_string(type)) + "." + std::string(slot);
}

std::string slot_path(ElementType type, std::string_view slot, std::size_t index) {
  return slot_path(type, slot) + "[" + std::to_string(index) + "]";
}

std::string credentials_path(std::string_view element_path) {
  return "credentials.secure_data." + std::string(element_path);
}

// Every file an element carries, in the order decryption visits them.
template <typename Visit>
void for_each_file(const EncryptedPassportElement& element, Visit&& visit) {
  for (const auto& file : element.files) visit(file);
  if (element.front_side) visit(*element.front_side);
  if (element.reverse_side) visit(*element.reverse_side);
  if (element.selfie) visit(*element.selfie);
  for (const auto& file : element.translation) visit(file);
}

}  // namespace

const DecryptedElement* DecryptedPassport::find(ElementType type) const noexcept {
  for (const auto& element : elements) {
    if (element.type == type) return &element;
  }
  return nullptr;
}

// One decrypt() call: hands out consecutive slices of the arena, which was sized for the
// whole bundle up front so no slice handed out earlier ever moves.
class PassportDecryptor::Run {
 public:
  Run(PassportDecryptor& owner, const FileLookup& lookup, const DecryptOptions& options)
      : owner_(owner), lookup_(lookup), options_(options) {}

  DecryptedPassport decrypt(const PassportData& passport_data) {
    size_arena(passport_data);
    DecryptedPassport out;
    const Credentials credentials = decrypt_credentials(passport_data.credentials);
    if (options_.expected_nonce && credentials.nonce != *options_.expected_nonce) {
      throw FormatError("credentials.nonce", "does not match the nonce of the request");
    }
    out.nonce = credentials.nonce;
    out.elements.reserve(passport_data.data.size());
    for (const auto& element : passport_data.data) {
      out.elements.push_back(decrypt_element(element, credentials));
    }
    return out;
  }

 private:
  void size_arena(const PassportData& passport_data) {
    std::size_t total = base64_decoded_capacity(passport_data.credentials.data.size());
    for (const auto& element : passport_data.data) {
      if (element.data) total += base64_decoded_capacity(element.data->size());
      for_each_file(element, [&](const PassportFile& file) {
        Ciphertext ciphertext = lookup_(file.file_id);
        if (ciphertext) total += ciphertext->size();
        ciphertexts_.push_back(ciphertext);
      });
    }
    // Grown by replacement, not resize: the old contents are not needed, only wiped.
    if (owner_.arena_.size() < total) owner_.arena_ = SecretBytes(total);
  }

  std::span<std::uint8_t> take(std::size_t size) {
    auto slice = owner_.arena_.reveal_mutable().subspan(used_, size);
    used_ += size;
    return slice;
  }

  std::span<const std::uint8_t> decrypt_value(std::span<const std::uint8_t> ciphertext,
                                              std::span<const std::uint8_t> hash,
                                              const ValueSecret& secret,
                                              std::span<std::uint8_t> out,
                                              const std::string& where) {
    try {
      return owner_.values_.decrypt_into(ciphertext, hash, secret, out);
    } catch (const DecryptError&) {
      throw DecryptError(where + ": decryption failed");
    }
  }

  Credentials decrypt_credentials(const EncryptedCredentials& encrypted) {
    auto& scratch = owner_.scratch_;
    scratch.resize(base64_decoded_capacity(encrypted.secret.size()) +
                   base64_decoded_capacity(encrypted.hash.size()));
    const auto wrapped_secret = base64_decode_into(
        encrypted.secret,
        std::span(scratch).first(base64_decoded_capacity(encrypted.secret.size())),
        "credentials.secret");
    const auto hash = base64_decode_into(
        encrypted.hash,
        std::span(scratch).subspan(base64_decoded_capacity(encrypted.secret.size())),
        "credentials.hash");
    const auto data = base64_decode_into(
        encrypted.data, take(base64_decoded_capacity(encrypted.data.size())), "credentials.data");
    std::optional<ValueSecret> secret;
    try {
      SecretBytes unwrapped = owner_.service_key_->decrypt_oaep_sha1(wrapped_secret);
      if (unwrapped.size() != ValueSecret::kSize) throw DecryptError();
      secret = ValueSecret::from_bytes(std::move(unwrapped), "credentials");
    } catch (const DecryptError&) {
      throw DecryptError("credentials: decryption failed");
    }
    const auto text = decrypt_value(data, hash, *secret, data, "credentials");
    return parse_credentials(
        std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  }

  DecryptedFile decrypt_file(const PassportFile& file, const FileCredentials* credentials,
                             const std::string& where) {
    const Ciphertext ciphertext = ciphertexts_.at(next_file_++);
    if (credentials == nullptr) throw FormatError(credentials_path(where), "missing for this file");
    DecryptedFile out{file.file_id, credentials->file_hash, std::nullopt};
    if (!ciphertext) {
      if (!options_.allow_missing_files) {
        throw FormatError(where, "file " + file.file_id + " was not supplied");
      }
      return out;
    }
    out.plaintext = decrypt_value(*ciphertext, credentials->file_hash, credentials->secret,
                                  take(ciphertext->size()), where);
    return out;
  }

  std::vector<DecryptedFile> decrypt_files(const std::vector<PassportFile>& files,
                                           const std::vector<FileCredentials>& credentials,
                                           ElementType type, std::string_view slot) {
    std::vector<DecryptedFile> out;
    out.reserve(files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
      out.push_back(decrypt_file(files[i], i < credentials.size() ? &credentials[i] : nullptr,
                                 slot_path(type, slot, i)));
    }
    return out;
  }

  std::optional<DecryptedFile> decrypt_single(const std::optional<PassportFile>& file,
                                              const std::optional<FileCredentials>& credentials,
                                              ElementType type, std::string_view slot) {
    if (!file) return std::nullopt;
    return decrypt_file(*file, credentials ? &*credentials : nullptr, slot_path(type, slot));
  }

  DecryptedElement decrypt_element(const EncryptedPassportElement& element,
                                   const Credentials& credentials) {
    DecryptedElement out;
    out.type = element.type;
    out.hash = element.hash;
    out.phone_number = element.phone_number;
    out.email = element.email;
    const std::string name(to_string(element.type));
    if (rules_for(element.type).plain) return out;

    const auto found = credentials.secure_data.find(element.type);
    if (found == credentials.secure_data.end()) {
      throw FormatError(credentials_path(name), "no credentials for this element");
    }
    const SecureValueCredentials& value = found->second;

    if (element.data) {
      const std::string where = name + ".data";
      if (!value.data)
        throw FormatError(credentials_path(where), "missing for this element's data");
      const auto ciphertext = base64_decode_into(
          *element.data, take(base64_decoded_capacity(element.data->size())), where);
      const auto text = decrypt_value(ciphertext, value.data->data_hash, value.data->secret,
                                      std::span(ciphertext.data(), ciphertext.size()), where);
      out.data_text = std::string_view(reinterpret_cast<const char*>(text.data()), text.size());
      out.data = json_fields::parse(out.data_text, where);
      if (!out.data.is_object()) throw FormatError(where, "decrypted data is not a JSON object");
      out.data_hash = value.data->data_hash;
    }
    out.files = decrypt_files(element.files, value.files, element.type, "files");
    out.front_side =
        decrypt_single(element.front_side, value.front_side, element.type, "front_side");
    out.reverse_side =
        decrypt_single(element.reverse_side, value.reverse_side, element.type, "reverse_side");
    out.selfie = decrypt_single(element.selfie, value.selfie, element.type, "selfie");
    out.translation =
        decrypt_files(element.translation, value.translation, element.type, "translation");
    return out;
  }

  PassportDecryptor& owner_;
  const FileLookup& lookup_;
  const DecryptOptions& options_;
  std::vector<Ciphertext> ciphertexts_;  // in for_each_file order
  std::size_t next_file_ = 0;
  std::size_t used_ = 0;
};

PassportDecryptor::PassportDecryptor(const ServiceKey& service_key) : service_key_(&service_key) {}

DecryptedPassport PassportDecryptor::decrypt(const PassportData& passport_data,
                                             const FileLookup& files,
                                             const DecryptOptions& options) {
  return Run(*this, files, options).decrypt(passport_data);
}

void PassportDecryptor::wipe() noexcept {
  if (!arena_.empty()) OPENSSL_cleanse(arena_.reveal_mutable().data(), arena_.size());
}

}  // namespace idvault::vault
