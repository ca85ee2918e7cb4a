// The Bot API's Telegram Passport objects (spec §6), read and written byte-compatibly:
// PassportData, EncryptedPassportElement, PassportFile (EncryptedCredentials lives in
// vault/credentials.h).
//
// Readers are tolerant where Telegram's own history varies: file_unique_id (Bot API 4.5+),
// file_size and the element hash may be missing, unknown fields are ignored. They are
// strict where a decoder would otherwise guess: wrong types, unknown element types, a file
// slot the element type never carries, or a missing required part, each a FormatError
// naming the path ("passport_data.data[1].front_side.file_id").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vault/model/element_type.h"
#include "vault/wire/credentials.h"

namespace idvault::vault {

struct PassportFile {
  std::string file_id;
  std::optional<std::string> file_unique_id;
  std::int64_t file_size = 0;  // 0 = unknown; left out when written, as the Bot API does
  std::int64_t file_date = 0;  // Unix time
};

struct EncryptedPassportElement {
  ElementType type = ElementType::personal_details;
  std::optional<std::string> data;          // base64 of the encrypted data JSON
  std::optional<std::string> phone_number;  // phone_number elements only, plain text
  std::optional<std::string> email;         // email elements only, plain text
  std::vector<PassportFile> files;
  std::optional<PassportFile> front_side;
  std::optional<PassportFile> reverse_side;
  std::optional<PassportFile> selfie;
  std::vector<PassportFile> translation;
  // Opaque (base64 as received): echoed back in PassportElementErrorUnspecified, never
  // recomputed or checked — how Telegram's server makes it is unknown (spec §2). Absent in
  // older Bot API data (the Bot API server adds it); such an element decrypts as any other,
  // only an unspecified error cannot be reported about it.
  std::optional<std::string> hash;
};

struct PassportData {
  std::vector<EncryptedPassportElement> data;
  EncryptedCredentials credentials;
};

[[nodiscard]] PassportData parse_passport_data(std::string_view json_text);
[[nodiscard]] PassportData passport_data_from_json(const nlohmann::json& json);
[[nodiscard]] EncryptedCredentials encrypted_credentials_from_json(const nlohmann::json& json,
                                                                   std::string_view where);
[[nodiscard]] PassportFile passport_file_from_json(const nlohmann::json& json,
                                                   std::string_view where);

// Written in the Bot API's key order (type, data|phone_number|email, files, front_side,
// reverse_side, selfie, translation, hash), so our output diffs cleanly against Telegram's.
[[nodiscard]] nlohmann::ordered_json to_json(const PassportData& passport_data);
[[nodiscard]] nlohmann::ordered_json to_json(const EncryptedPassportElement& element);
[[nodiscard]] nlohmann::ordered_json to_json(const EncryptedCredentials& credentials);
[[nodiscard]] nlohmann::ordered_json to_json(const PassportFile& file);

}  // namespace idvault::vault
