#include "vault/wire/passport_encryptor.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"
#include "vault/wire/value_cipher.h"

namespace idvault::vault {
namespace {

using openssl::check;

std::string random_file_id() {
  std::array<std::uint8_t, 18> bytes{};
  check(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())), "RAND_bytes");
  std::string id = base64_encode(bytes);  // 18 bytes: 24 characters, never padded
  for (char& c : id) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return id;
}

void check_slot(bool present, Slot rule, const std::string& where) {
  if (present && rule == Slot::forbidden) throw FormatError(where, "not allowed for this type");
  if (!present && rule == Slot::required) throw FormatError(where, "required for this type");
}

// One file encrypted ahead of the walk over the elements (see encrypt_files).
struct EncryptedFile {
  ValueSecret secret;
  EncryptedValue value;
  std::size_t size = 0;               // of the ciphertext, which a sink took
  std::optional<std::uint64_t> sunk;  // what the sink returned, if there is one
};
using EncryptedFiles = std::unordered_map<const SecretBytes*, EncryptedFile>;

// Every file of every element, encrypted on up to how.threads threads, the largest
// first so the threads finish together.
EncryptedFiles encrypt_files(std::span<const PlainElement> elements, const FileEncryption& how) {
  std::vector<const SecretBytes*> sources;
  for (const PlainElement& plain : elements) {
    for_each_file(plain, [&sources](const SecretBytes& file) { sources.push_back(&file); });
  }
  std::stable_sort(sources.begin(), sources.end(), [](const SecretBytes* a, const SecretBytes* b) {
    return a->size() > b->size();
  });
  std::vector<std::optional<EncryptedFile>> done(sources.size());
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  const auto work = [&] {
    for (std::size_t i = next++; i < sources.size(); i = next++) {
      try {
        if (how.before_encrypting) how.before_encrypting(*sources[i]);
        EncryptedFile file{ValueSecret::generate(), {}, 0, {}};
        if (how.sink) {
          PageAlignedBytes buffer;
          file.value.hash = encrypt_value_into(sources[i]->reveal(), file.secret, buffer);
          file.size = buffer.size();
          file.sunk = how.sink(std::move(buffer));
        } else {
          file.value = encrypt_value(sources[i]->reveal(), file.secret);
          file.size = file.value.ciphertext.size();
        }
        done[i] = std::move(file);
        if (how.after_encrypting) how.after_encrypting(*sources[i]);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = sources.size();  // the others stop after their current file
      }
    }
  };
  const std::size_t threads = std::min<std::size_t>(std::max(1u, how.threads), sources.size());
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }  // joined here
  if (failure) std::rethrow_exception(failure);
  EncryptedFiles files;
  for (std::size_t i = 0; i < sources.size(); ++i) files.emplace(sources[i], std::move(*done[i]));
  return files;
}

class BundleWriter {
 public:
  BundleWriter(EncryptedElements& bundle, std::int64_t now, EncryptedFiles& encrypted)
      : bundle_(bundle), now_(now), encrypted_(encrypted) {}

  FileCredentials add_file(const SecretBytes& plaintext, PassportFile& file,
                           Bytes& element_hashes) {
    EncryptedFile& encrypted = encrypted_.at(&plaintext);
    ValueSecret secret = std::move(encrypted.secret);
    EncryptedValue value = std::move(encrypted.value);
    do {
      file.file_id = random_file_id();
    } while (bundle_.files.contains(file.file_id) || bundle_.sunk_files.contains(file.file_id));
    file.file_unique_id = random_file_id().substr(0, 16);
    file.file_size = static_cast<std::int64_t>(encrypted.size);
    file.file_date = now_;
    element_hashes.insert(element_hashes.end(), value.hash.begin(), value.hash.end());
    if (encrypted.sunk) {
      bundle_.sunk_files.emplace(file.file_id, *encrypted.sunk);
    } else {
      bundle_.files.emplace(file.file_id, std::move(value.ciphertext));
    }
    return FileCredentials{std::move(value.hash), std::move(secret)};
  }

 private:
  EncryptedElements& bundle_;
  std::int64_t now_;
  EncryptedFiles& encrypted_;
};

std::string element_hash(std::span<const std::uint8_t> hashes) {
  std::array<std::uint8_t, 32> digest{};
  unsigned size = 0;
  check(EVP_Digest(hashes.data(), hashes.size(), digest.data(), &size, openssl::sha256(), nullptr),
        "EVP_Digest");
  return base64_encode(digest);
}

}  // namespace

EncryptedElements encrypt_elements(std::span<const PlainElement> elements,
                                   const FileEncryption& how) {
  EncryptedElements bundle;
  EncryptedFiles encrypted_files = encrypt_files(elements, how);
  BundleWriter writer(bundle, static_cast<std::int64_t>(std::time(nullptr)), encrypted_files);
  std::set<ElementType> seen;

  for (const PlainElement& plain : elements) {
    const std::string where(to_string(plain.type));
    if (!seen.insert(plain.type).second) throw FormatError(where, "type given twice");
    const ElementRules& rules = rules_for(plain.type);
    EncryptedPassportElement element;
    element.type = plain.type;
    Bytes hashes;  // input of our opaque element hash

    if (rules.plain) {
      if (plain.value.empty()) throw FormatError(where, "the value must not be empty");
      if (!plain.data.is_null()) throw FormatError(where + ".data", "not allowed for this type");
      (plain.type == ElementType::phone_number ? element.phone_number : element.email) =
          plain.value;
      hashes.assign(where.begin(), where.end());
      hashes.push_back(0);
      hashes.insert(hashes.end(), plain.value.begin(), plain.value.end());
      element.hash = element_hash(hashes);
      bundle.elements.push_back(std::move(element));
      continue;
    }

    check_slot(plain.front_side.has_value(), rules.front_side, where + ".front_side");
    check_slot(plain.reverse_side.has_value(), rules.reverse_side, where + ".reverse_side");
    check_slot(plain.selfie.has_value(), rules.selfie, where + ".selfie");
    check_slot(!plain.files.empty(), rules.files, where + ".files");
    check_slot(!plain.translation.empty(), rules.translation, where + ".translation");

    SecureValueCredentials credentials;
    if (rules.data) {
      if (!plain.data.is_object()) throw FormatError(where + ".data", "must be a JSON object");
      std::string text;
      try {
        text = plain.data.dump();
      } catch (const nlohmann::json::exception&) {
        throw FormatError(where + ".data", "strings must be valid UTF-8");
      }
      SecretBytes data_text = SecretBytes::from_string(text);
      OPENSSL_cleanse(text.data(), text.size());
      ValueSecret secret = ValueSecret::generate();
      EncryptedValue value = encrypt_value(data_text.reveal(), secret);
      element.data = base64_encode(value.ciphertext);
      hashes.insert(hashes.end(), value.hash.begin(), value.hash.end());
      credentials.data = DataCredentials{std::move(value.hash), std::move(secret)};
    } else if (!plain.data.is_null()) {
      throw FormatError(where + ".data", "not allowed for this type");
    }

    const auto add_single = [&](const std::optional<SecretBytes>& source,
                                std::optional<PassportFile>& file,
                                std::optional<FileCredentials>& file_credentials) {
      if (!source) return;
      file.emplace();
      file_credentials = writer.add_file(*source, *file, hashes);
    };
    const auto add_list = [&](const std::vector<SecretBytes>& sources,
                              std::vector<PassportFile>& files,
                              std::vector<FileCredentials>& file_credentials) {
      for (const SecretBytes& source : sources) {
        file_credentials.push_back(writer.add_file(source, files.emplace_back(), hashes));
      }
    };
    add_list(plain.files, element.files, credentials.files);
    add_single(plain.front_side, element.front_side, credentials.front_side);
    add_single(plain.reverse_side, element.reverse_side, credentials.reverse_side);
    add_single(plain.selfie, element.selfie, credentials.selfie);
    add_list(plain.translation, element.translation, credentials.translation);

    element.hash = element_hash(hashes);
    bundle.credentials.secure_data.emplace(plain.type, std::move(credentials));
    bundle.elements.push_back(std::move(element));
  }

  return bundle;
}

EncryptedBundle encrypt_passport(std::span<const PlainElement> elements, std::string_view nonce,
                                 std::string_view service_public_key_pem) {
  EncryptedElements encrypted = encrypt_elements(elements);
  EncryptedBundle bundle;
  bundle.credentials = std::move(encrypted.credentials);
  bundle.credentials.nonce = std::string(nonce);
  bundle.passport_data.data = std::move(encrypted.elements);
  bundle.passport_data.credentials =
      encrypt_credentials(bundle.credentials, service_public_key_pem);
  bundle.files = std::move(encrypted.files);
  return bundle;
}

}  // namespace idvault::vault
