#include "vault/wire/credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/base64.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "vault/keys/rsa_oaep.h"
#include "vault/model/errors.h"
#include "vault/wire/value_cipher.h"

namespace idvault::vault {
namespace {

using json_fields::Json;
using json_fields::path;
using openssl::check;

constexpr std::string_view kRoot = "credentials";

std::vector<std::uint8_t> read_hash(const Json& object, std::string_view key,
                                    std::string_view where) {
  auto hash = base64_decode(json_fields::require_string(object, key, where), path(where, key));
  if (hash.size() != kValueHashSize) throw FormatError(path(where, key), "must be 32 bytes");
  return hash;
}

ValueSecret read_secret(const Json& object, std::string_view where) {
  const std::string secret_where = path(where, "secret");
  return ValueSecret::from_bytes(
      base64_decode_secret(json_fields::require_string(object, "secret", where), secret_where),
      secret_where);
}

FileCredentials read_file(const Json& object, std::string_view where) {
  json_fields::expect_object(object, where);
  return FileCredentials{read_hash(object, "file_hash", where), read_secret(object, where)};
}

std::optional<FileCredentials> read_optional_file(const Json& value, std::string_view key,
                                                  std::string_view where) {
  const Json* file = json_fields::optional_object(value, key, where);
  if (file == nullptr) return std::nullopt;
  return read_file(*file, path(where, key));
}

std::vector<FileCredentials> read_file_list(const Json& value, std::string_view key,
                                            std::string_view where) {
  std::vector<FileCredentials> out;
  const Json* list = json_fields::optional_array(value, key, where);
  if (list == nullptr) return out;
  const std::string list_where = path(where, key);
  out.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(read_file((*list)[i], path(list_where, i)));
  return out;
}

SecureValueCredentials read_value(const Json& value, std::string_view where) {
  json_fields::expect_object(value, where);
  SecureValueCredentials out;
  if (const Json* data = json_fields::optional_object(value, "data", where)) {
    const std::string data_where = path(where, "data");
    out.data =
        DataCredentials{read_hash(*data, "data_hash", data_where), read_secret(*data, data_where)};
  }
  out.front_side = read_optional_file(value, "front_side", where);
  out.reverse_side = read_optional_file(value, "reverse_side", where);
  out.selfie = read_optional_file(value, "selfie", where);
  out.translation = read_file_list(value, "translation", where);
  out.files = read_file_list(value, "files", where);
  return out;
}

nlohmann::ordered_json file_json(const FileCredentials& file) {
  return {{"file_hash", base64_encode(file.file_hash)},
          {"secret", base64_encode(file.secret.reveal())}};
}

}  // namespace

nlohmann::ordered_json to_json(const Credentials& credentials) {
  nlohmann::ordered_json secure_data = nlohmann::ordered_json::object();
  for (const auto& [type, value] : credentials.secure_data) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    if (value.data) {
      entry["data"] = {{"data_hash", base64_encode(value.data->data_hash)},
                       {"secret", base64_encode(value.data->secret.reveal())}};
    }
    if (value.front_side) entry["front_side"] = file_json(*value.front_side);
    if (value.reverse_side) entry["reverse_side"] = file_json(*value.reverse_side);
    if (value.selfie) entry["selfie"] = file_json(*value.selfie);
    for (const auto& file : value.translation) entry["translation"].push_back(file_json(file));
    for (const auto& file : value.files) entry["files"].push_back(file_json(file));
    secure_data[std::string(to_string(type))] = std::move(entry);
  }
  return {{"secure_data", std::move(secure_data)}, {"nonce", credentials.nonce}};
}

Credentials credentials_from_json(const nlohmann::json& json) {
  json_fields::expect_object(json, kRoot);
  Credentials out;
  const std::string secure_where = path(kRoot, "secure_data");
  const Json& secure_data = json_fields::require_object(json, "secure_data", kRoot);
  for (const auto& [name, value] : secure_data.items()) {
    const auto type = parse_element_type(name);
    const std::string where = path(secure_where, name);
    // A type newer than this reader cannot have been asked for; phone_number and email
    // are never encrypted (TDLib skips them too). Neither is worth failing a bundle over.
    if (!type || rules_for(*type).plain) continue;
    out.secure_data.emplace(*type, read_value(value, where));
  }
  if (const auto nonce = json_fields::optional_string(json, "nonce", kRoot)) {
    out.nonce = *nonce;
  } else if (const auto payload = json_fields::optional_string(json, "payload", kRoot)) {
    out.nonce = *payload;  // Passport 1.0 clients
  } else {
    throw FormatError(path(kRoot, "nonce"), "missing (and no legacy \"payload\" either)");
  }
  return out;
}

SecretBytes serialize_credentials(const Credentials& credentials) {
  auto json = to_json(credentials);
  std::string text = json.dump();
  SecretBytes out = SecretBytes::from_string(text);
  OPENSSL_cleanse(text.data(), text.size());
  json_fields::wipe_strings(json);
  return out;
}

Credentials parse_credentials(std::string_view json_text) {
  auto json = json_fields::parse(json_text, kRoot);
  try {
    Credentials out = credentials_from_json(json);
    json_fields::wipe_strings(json);
    return out;
  } catch (...) {
    json_fields::wipe_strings(json);
    throw;
  }
}

EncryptedCredentials encrypt_credentials(const Credentials& credentials,
                                         std::string_view service_public_key_pem) {
  const auto public_key = load_rsa_public_key(service_public_key_pem);
  const SecretBytes text = serialize_credentials(credentials);
  const ValueSecret secret = ValueSecret::generate();
  const EncryptedValue value = encrypt_value(text.reveal(), secret);
  return EncryptedCredentials{
      base64_encode(value.ciphertext), base64_encode(value.hash),
      base64_encode(rsa_oaep_sha1_encrypt(public_key.get(), secret.reveal()))};
}

Credentials decrypt_credentials(const EncryptedCredentials& encrypted,
                                const ServiceKey& service_key) {
  const auto wrapped_secret = base64_decode(encrypted.secret, "credentials.secret");
  const auto hash = base64_decode(encrypted.hash, "credentials.hash");
  const auto data = base64_decode(encrypted.data, "credentials.data");
  SecretBytes text;
  try {
    SecretBytes secret = service_key.decrypt_oaep_sha1(wrapped_secret);
    if (secret.size() != ValueSecret::kSize) throw DecryptError();
    ValueDecryptor decryptor;
    text = decryptor.decrypt(data, hash, ValueSecret::from_bytes(std::move(secret), kRoot));
  } catch (const DecryptError&) {
    throw DecryptError("credentials: decryption failed");
  }
  return parse_credentials(text.reveal_text());
}

}  // namespace idvault::vault
