// The relying party's side: decrypt a whole Bot API PassportData and its files with the
// service key, check the nonce and every hash, and hand back the plaintexts.
//
// Plaintext files are views into an arena the decryptor owns and reuses: it grows to the
// largest bundle seen and is never freed between calls, because a fresh heap buffer per
// file costs more in page faults than the decryption itself (reference/bench finding 5).
// The arena held plaintext, so it is wiped when the decryptor dies (or on wipe()).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "vault/keys/keys.h"
#include "vault/model/element_type.h"
#include "vault/wire/passport_data.h"
#include "vault/wire/value_cipher.h"

namespace idvault::vault {

// file_id -> the encrypted file as downloaded, or nullopt when the caller does not have it.
using FileLookup =
    std::function<std::optional<std::span<const std::uint8_t>>(std::string_view file_id)>;

struct DecryptOptions {
  // When set, the credentials' nonce must equal it (the service MUST check, spec §3.3).
  std::optional<std::string> expected_nonce;
  // false: a file the lookup lacks is an error. true: it comes back marked missing.
  bool allow_missing_files = false;
};

struct DecryptedFile {
  std::string file_id;
  std::vector<std::uint8_t> file_hash;  // from the credentials, for PassportElementError
  // The file's plaintext, valid until the next decrypt() or the decryptor's end;
  // nullopt when the file was not supplied (allow_missing_files only).
  std::optional<std::span<const std::uint8_t>> plaintext;
  [[nodiscard]] bool missing() const noexcept { return !plaintext.has_value(); }
};

struct DecryptedElement {
  ElementType type = ElementType::personal_details;
  nlohmann::json data;                  // the decrypted data object; null for types without
  std::vector<std::uint8_t> data_hash;  // from the credentials; empty for types without data
  std::string_view data_text;           // the decrypted JSON text (same lifetime as files)
  std::optional<std::string> phone_number;
  std::optional<std::string> email;
  std::optional<DecryptedFile> front_side;
  std::optional<DecryptedFile> reverse_side;
  std::optional<DecryptedFile> selfie;
  std::vector<DecryptedFile> files;
  std::vector<DecryptedFile> translation;
  std::optional<std::string> hash;  // the element's opaque hash, as received (older data has none)
};

struct DecryptedPassport {
  std::string nonce;
  std::vector<DecryptedElement> elements;
  [[nodiscard]] const DecryptedElement* find(ElementType type) const noexcept;
};

class PassportDecryptor {
 public:
  // The key must outlive the decryptor.
  explicit PassportDecryptor(const ServiceKey& service_key);
  // One arena, one set of OpenSSL contexts: copies would share neither safely.
  PassportDecryptor(const PassportDecryptor&) = delete;
  PassportDecryptor& operator=(const PassportDecryptor&) = delete;
  PassportDecryptor(PassportDecryptor&&) noexcept = default;
  PassportDecryptor& operator=(PassportDecryptor&&) noexcept = default;
  ~PassportDecryptor() = default;  // the arena is SecretBytes: wiped on release

  // Throws:
  //  - FormatError naming the part: malformed base64, credentials JSON of the wrong
  //    shape, no credentials for an element or one of its files, a file not supplied,
  //    a nonce other than expected_nonce, decrypted data that is not a UTF-8 JSON object;
  //  - DecryptError "<where>: decryption failed" (where = "credentials",
  //    "passport.data", "passport.front_side", "utility_bill.files[1]", ...) for every
  //    cryptographic failure — wrong key, tampered data, hash or secret, bad padding —
  //    with no further detail, so it is no oracle.
  // Not thread-safe: use one decryptor per thread.
  [[nodiscard]] DecryptedPassport decrypt(const PassportData& passport_data,
                                          const FileLookup& files,
                                          const DecryptOptions& options = {});

  // Overwrites the arena now, e.g. once the plaintexts have been stored elsewhere.
  void wipe() noexcept;

 private:
  class Run;
  const ServiceKey* service_key_;
  ValueDecryptor values_;
  SecretBytes arena_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace idvault::vault
