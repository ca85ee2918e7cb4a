// Credentials: what a holder sends a service so it can decrypt the shared values — for
// each element, the secret and hash of its data and of each file — and the service's
// nonce. Plus their encrypted form (EncryptedCredentials, Bot API JSON) and the two
// directions of that encryption (spec §3).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "vault/keys/keys.h"
#include "vault/model/element_type.h"
#include "vault/wire/value_secret.h"

namespace idvault::vault {

struct DataCredentials {
  std::vector<std::uint8_t> data_hash;  // 32 bytes
  ValueSecret secret;
};

struct FileCredentials {
  std::vector<std::uint8_t> file_hash;  // 32 bytes
  ValueSecret secret;
};

// One entry of secure_data. files[i] / translation[i] belong to the element's files[i] /
// translation[i].
struct SecureValueCredentials {
  std::optional<DataCredentials> data;
  std::optional<FileCredentials> front_side;
  std::optional<FileCredentials> reverse_side;
  std::optional<FileCredentials> selfie;
  std::vector<FileCredentials> translation;
  std::vector<FileCredentials> files;
};

struct Credentials {
  // phone_number and email never appear: they travel in plain text.
  std::map<ElementType, SecureValueCredentials> secure_data;
  std::string nonce;
};

// The Bot API object: base64 of the encrypted credentials JSON, of its hash, and of the
// credentials secret encrypted to the service key.
struct EncryptedCredentials {
  std::string data;
  std::string hash;
  std::string secret;
};

// The current shape (Passport 1.1): secure_data first (TDLib's order), then "nonce".
// The result holds secrets in clear; wipe it (json_fields::wipe_strings) when done.
[[nodiscard]] nlohmann::ordered_json to_json(const Credentials& credentials);

// Accepts what real clients send: "payload" (Passport 1.0) in place of "nonce" ("nonce"
// wins when both are present), any key order, unknown keys. Throws FormatError naming the
// path ("credentials.secure_data.passport.selfie.file_hash") for a missing or
// wrong-typed field, a bad base64, a hash that is not 32 bytes or a secret that is not 32.
[[nodiscard]] Credentials credentials_from_json(const nlohmann::json& json);

// JSON text <-> Credentials, with every intermediate copy of a secret wiped.
[[nodiscard]] SecretBytes serialize_credentials(const Credentials& credentials);
[[nodiscard]] Credentials parse_credentials(std::string_view json_text);

// Encrypts to the service's RSA public key (SubjectPublicKeyInfo PEM, as in the request
// link) with RSA-OAEP SHA-1 / MGF1-SHA-1 and a fresh credentials secret. Throws
// FormatError("public_key", ...) if the PEM is not an RSA public key.
[[nodiscard]] EncryptedCredentials encrypt_credentials(const Credentials& credentials,
                                                       std::string_view service_public_key_pem);

// The relying party's side. Throws FormatError for malformed base64 or JSON, and
// DecryptError("credentials: decryption failed") for every cryptographic failure.
[[nodiscard]] Credentials decrypt_credentials(const EncryptedCredentials& encrypted,
                                              const ServiceKey& service_key);

}  // namespace idvault::vault
