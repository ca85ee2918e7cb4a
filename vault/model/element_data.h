// The decrypted `data` of Passport elements (spec §4.2): PersonalDetails for
// personal_details, IdDocumentData for the four identity documents, ResidentialAddress
// for address. Read from and written to the JSON Telegram encrypts, or built from
// KEY=VALUE fields (`idvault put TYPE --field K=V`).
//
// Absent and empty optional strings mean the same thing in Telegram, so they are one
// thing here: an empty std::string. We write JSON the way TDLib does (every key, in
// TDLib's order, "" for what is absent) and read both that and JSON that leaves
// optional keys out. Unknown keys are ignored on read: a newer client may add fields.
//
// Every bad field throws FormatError whose where() is "<type>.<field>", e.g.
// "personal_details.birth_date". Names and document numbers are never echoed in
// messages; dates, genders and country codes are, quoted and bounded.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vault/model/date.h"
#include "vault/model/element_type.h"

namespace idvault::vault {

// How much to demand. Data a peer (a Telegram client, a relying party's bundle) made is
// checked exactly as TDLib checks it, so nothing a real client sent is refused. Data we
// are about to store or send must also use assigned ISO 3166-1 country codes.
enum class Strictness { peer_input, own_output };

enum class Gender { male, female };

struct PersonalDetails {
  std::string first_name;
  std::string middle_name;  // "" when there is none
  std::string last_name;
  std::string first_name_native;   // in the language of the country of residence
  std::string middle_name_native;  // "" when there is none
  std::string last_name_native;
  CalendarDate birth_date;
  Gender gender = Gender::male;
  std::string country_code;            // citizenship, ISO 3166-1 alpha-2
  std::string residence_country_code;  // ISO 3166-1 alpha-2
  friend bool operator==(const PersonalDetails&, const PersonalDetails&) = default;
};

// passport, driver_license, identity_card, internal_passport
struct IdDocumentData {
  std::string document_no;                  // 1..24 characters
  std::optional<CalendarDate> expiry_date;  // nullopt: no expiry (written as "")
  friend bool operator==(const IdDocumentData&, const IdDocumentData&) = default;
};

struct ResidentialAddress {
  std::string street_line1;
  std::string street_line2;  // "" when there is none
  std::string city;
  std::string state;  // "" when there is none
  std::string country_code;
  std::string post_code;
  friend bool operator==(const ResidentialAddress&, const ResidentialAddress&) = default;
};

using ElementData = std::variant<PersonalDetails, IdDocumentData, ResidentialAddress>;

// KEY=VALUE pairs in the order given.
using FieldValues = std::vector<std::pair<std::string, std::string>>;

// The keys of the type's data in TDLib's order; empty for types without data. These are
// also the valid PassportElementErrorDataField field names of the type.
[[nodiscard]] std::span<const std::string_view> data_field_names(ElementType type) noexcept;

// Reads the decrypted data JSON of an element of `type`. Throws FormatError for a type
// without data, for JSON that is not an object, and for any field that breaks a rule.
[[nodiscard]] ElementData parse_element_data(ElementType type, const nlohmann::json& data,
                                             Strictness strictness = Strictness::peer_input);
// The same from JSON text; text that is not JSON is a FormatError too.
[[nodiscard]] ElementData parse_element_data(ElementType type, std::string_view json_text,
                                             Strictness strictness = Strictness::peer_input);

// Builds data from KEY=VALUE fields for storage (Strictness::own_output). Every key must
// be a field of the type and given at most once; every non-optional field must be given
// (possibly empty where Telegram allows empty). Dates may be given unpadded.
[[nodiscard]] ElementData element_data_from_fields(ElementType type, const FieldValues& fields);

// Splits "KEY=VALUE" at the first '='; KEY must be non-empty.
[[nodiscard]] std::pair<std::string, std::string> parse_field_assignment(std::string_view text);

// Throws FormatError when data breaks a rule at the given strictness, or when its
// alternative does not belong to `type` (e.g. ResidentialAddress for passport).
void validate_element_data(ElementType type, const ElementData& data, Strictness strictness);

// TDLib's shape: every key in TDLib's order, "" for absent optionals, dates zero-padded.
// Validates with Strictness::own_output first, so we never write what we would refuse.
[[nodiscard]] nlohmann::ordered_json to_json(ElementType type, const ElementData& data);
// Compact JSON text of the above, raw UTF-8: the plaintext that gets encrypted.
[[nodiscard]] std::string to_json_text(ElementType type, const ElementData& data);

[[nodiscard]] std::string_view to_string(Gender gender) noexcept;

}  // namespace idvault::vault
