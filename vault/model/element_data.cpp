#include "vault/model/element_data.h"

#include <array>
#include <cstddef>

#include "common/json_fields.h"
#include "common/quoted_text.h"
#include "common/utf8.h"
#include "vault/model/country_code.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

enum class DataKind { none, personal_details, id_document, address };

enum class FieldKind { name, text, document_no, required_date, optional_date, gender, country };

// When a field may be left out. TDLib reads a missing name or address line as "", so
// JSON may omit those; a person typing --field pairs must still name them, to catch typos.
enum class Presence { required, required_in_fields, optional };

struct FieldRule {
  std::string_view name;
  FieldKind kind;
  Presence presence;
};

using enum FieldKind;
using enum Presence;

// Each table is in TDLib's write order.
constexpr std::array<FieldRule, 10> kPersonalRules = {{
    {"first_name", name, required_in_fields},
    {"middle_name", name, optional},
    {"last_name", name, required_in_fields},
    {"first_name_native", name, optional},
    {"middle_name_native", name, optional},
    {"last_name_native", name, optional},
    {"birth_date", required_date, required},
    {"gender", gender, required},
    {"country_code", country, required},
    {"residence_country_code", country, required},
}};
constexpr std::array<FieldRule, 2> kIdDocumentRules = {{
    {"document_no", document_no, required},
    {"expiry_date", optional_date, optional},
}};
constexpr std::array<FieldRule, 6> kAddressRules = {{
    {"country_code", country, required},
    {"state", text, optional},
    {"city", text, required_in_fields},
    {"street_line1", text, required_in_fields},
    {"street_line2", text, optional},
    {"post_code", text, required_in_fields},
}};

template <std::size_t N>
constexpr std::array<std::string_view, N> names_of(const std::array<FieldRule, N>& rules) {
  std::array<std::string_view, N> names{};
  for (std::size_t i = 0; i < N; ++i) names[i] = rules[i].name;
  return names;
}
constexpr auto kPersonalNames = names_of(kPersonalRules);
constexpr auto kIdDocumentNames = names_of(kIdDocumentRules);
constexpr auto kAddressNames = names_of(kAddressRules);

constexpr std::size_t kMaxNameChars = 255;
constexpr std::size_t kMaxDocumentNoChars = 24;

DataKind data_kind(ElementType type) noexcept {
  if (type == ElementType::personal_details) return DataKind::personal_details;
  if (type == ElementType::address) return DataKind::address;
  if (is_identity_document(type)) return DataKind::id_document;
  return DataKind::none;
}

std::span<const FieldRule> rules_of(DataKind kind) noexcept {
  switch (kind) {
    case DataKind::personal_details:
      return kPersonalRules;
    case DataKind::id_document:
      return kIdDocumentRules;
    case DataKind::address:
      return kAddressRules;
    case DataKind::none:
      break;
  }
  return {};
}

DataKind require_data_kind(ElementType type) {
  const DataKind kind = data_kind(type);
  if (kind == DataKind::none) {
    throw FormatError(std::string(to_string(type)), "this element type carries no data object");
  }
  return kind;
}

std::string where_of(ElementType type, std::string_view field) {
  std::string where(to_string(type));
  where += '.';
  where += field;
  return where;
}

// Field values as text, one slot per rule; nullopt where the input left the field out.
using RawFields = std::vector<std::optional<std::string>>;

std::string checked_text(ElementType type, const FieldRule& rule, const std::string& value) {
  const auto where = where_of(type, rule.name);
  const auto length = utf8_length(value);
  if (!length) throw FormatError(where, "is not valid UTF-8");
  if (rule.kind == name && *length > kMaxNameChars) {
    throw FormatError(where, "is longer than 255 characters");
  }
  if (rule.kind == document_no) {
    if (*length == 0) throw FormatError(where, "must not be empty");
    if (*length > kMaxDocumentNoChars) throw FormatError(where, "is longer than 24 characters");
  }
  return value;
}

std::string checked_country(ElementType type, const FieldRule& rule, const std::string& value,
                            Strictness strictness) {
  const auto where = where_of(type, rule.name);
  if (!has_country_code_shape(value)) {
    throw FormatError(where, quote_untrusted(value) +
                                 " is not an ISO 3166-1 alpha-2 code (two uppercase letters A-Z)");
  }
  if (strictness == Strictness::own_output && !is_assigned_country_code(value)) {
    throw FormatError(
        where, quote_untrusted(value) + " is not an assigned ISO 3166-1 alpha-2 country code");
  }
  return value;
}

Gender checked_gender(ElementType type, const FieldRule& rule, const std::string& value) {
  if (value == "male") return Gender::male;
  if (value == "female") return Gender::female;
  throw FormatError(
      where_of(type, rule.name),
      quote_untrusted(value) + " is not a gender Telegram knows (exactly \"male\" or \"female\")");
}

// Hands out each field's value in rule order, applying that field's checks.
class FieldReader {
 public:
  FieldReader(ElementType type, std::span<const FieldRule> rules, const RawFields& raw,
              Strictness strictness)
      : type_(type), rules_(rules), raw_(raw), strictness_(strictness) {}

  std::string text() {
    const auto& rule = next();
    return checked_text(type_, rule, value_of(rule));
  }
  std::string country() {
    const auto& rule = next();
    return checked_country(type_, rule, value_of(rule), strictness_);
  }
  Gender gender() {
    const auto& rule = next();
    return checked_gender(type_, rule, value_of(rule));
  }
  std::optional<CalendarDate> date() {
    const auto& rule = next();
    const std::string value = value_of(rule);
    // An empty expiry_date is how every client says "does not expire".
    if (rule.kind == optional_date && value.empty()) return std::nullopt;
    return parse_passport_date(value, where_of(type_, rule.name));
  }

 private:
  const FieldRule& next() { return rules_[index_++]; }
  std::string value_of(const FieldRule& rule) const {
    const auto& value = raw_[index_ - 1];
    if (value) return *value;
    if (rule.presence == required) throw FormatError(where_of(type_, rule.name), "is missing");
    return {};
  }

  ElementType type_;
  std::span<const FieldRule> rules_;
  const RawFields& raw_;
  Strictness strictness_;
  std::size_t index_ = 0;
};

ElementData build(ElementType type, DataKind kind, const RawFields& raw, Strictness strictness) {
  FieldReader read(type, rules_of(kind), raw, strictness);
  switch (kind) {
    case DataKind::personal_details: {
      PersonalDetails details;
      details.first_name = read.text();
      details.middle_name = read.text();
      details.last_name = read.text();
      details.first_name_native = read.text();
      details.middle_name_native = read.text();
      details.last_name_native = read.text();
      details.birth_date = *read.date();
      details.gender = read.gender();
      details.country_code = read.country();
      details.residence_country_code = read.country();
      return details;
    }
    case DataKind::id_document: {
      IdDocumentData document;
      document.document_no = read.text();
      document.expiry_date = read.date();
      return document;
    }
    case DataKind::address: {
      ResidentialAddress address;
      address.country_code = read.country();
      address.state = read.text();
      address.city = read.text();
      address.street_line1 = read.text();
      address.street_line2 = read.text();
      address.post_code = read.text();
      return address;
    }
    case DataKind::none:
      break;
  }
  throw FormatError(std::string(to_string(type)), "this element type carries no data object");
}

// The data as the text of each field, in rule order; the inverse of build().
RawFields to_raw(ElementType type, DataKind kind, const ElementData& data) {
  const auto mismatch = [&] {
    return FormatError(std::string(to_string(type)),
                       "the data given is not the kind of data this element type carries");
  };
  switch (kind) {
    case DataKind::personal_details: {
      const auto* d = std::get_if<PersonalDetails>(&data);
      if (d == nullptr) throw mismatch();
      return {d->first_name,
              d->middle_name,
              d->last_name,
              d->first_name_native,
              d->middle_name_native,
              d->last_name_native,
              to_string(d->birth_date),
              std::string(to_string(d->gender)),
              d->country_code,
              d->residence_country_code};
    }
    case DataKind::id_document: {
      const auto* d = std::get_if<IdDocumentData>(&data);
      if (d == nullptr) throw mismatch();
      return {d->document_no, d->expiry_date ? to_string(*d->expiry_date) : std::string()};
    }
    case DataKind::address: {
      const auto* d = std::get_if<ResidentialAddress>(&data);
      if (d == nullptr) throw mismatch();
      return {d->country_code, d->state, d->city, d->street_line1, d->street_line2, d->post_code};
    }
    case DataKind::none:
      break;
  }
  throw mismatch();
}

std::string field_list(std::span<const FieldRule> rules) {
  std::string list;
  for (const auto& rule : rules) {
    if (!list.empty()) list += ", ";
    list += rule.name;
  }
  return list;
}

}  // namespace

std::span<const std::string_view> data_field_names(ElementType type) noexcept {
  switch (data_kind(type)) {
    case DataKind::personal_details:
      return kPersonalNames;
    case DataKind::id_document:
      return kIdDocumentNames;
    case DataKind::address:
      return kAddressNames;
    case DataKind::none:
      break;
  }
  return {};
}

ElementData parse_element_data(ElementType type, const nlohmann::json& data,
                               Strictness strictness) {
  const DataKind kind = require_data_kind(type);
  if (!data.is_object()) {
    throw FormatError(std::string(to_string(type)), "data must be a JSON object");
  }
  const auto rules = rules_of(kind);
  RawFields raw(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto found = data.find(std::string(rules[i].name));
    if (found == data.end()) continue;
    if (!found->is_string()) throw FormatError(where_of(type, rules[i].name), "must be a string");
    raw[i] = found->get<std::string>();
  }
  return build(type, kind, raw, strictness);
}

ElementData parse_element_data(ElementType type, std::string_view json_text,
                               Strictness strictness) {
  return parse_element_data(
      type, json_fields::parse(json_text, std::string(to_string(type)) + ".data"), strictness);
}

ElementData element_data_from_fields(ElementType type, const FieldValues& fields) {
  const DataKind kind = require_data_kind(type);
  const auto rules = rules_of(kind);
  RawFields raw(rules.size());
  for (const auto& [key, value] : fields) {
    std::size_t i = 0;
    while (i < rules.size() && rules[i].name != key) ++i;
    if (i == rules.size()) {
      throw FormatError(where_of(type, key), std::string("is not a field of ") +
                                                 std::string(to_string(type)) +
                                                 " (its fields: " + field_list(rules) + ")");
    }
    if (raw[i]) throw FormatError(where_of(type, key), "is given more than once");
    raw[i] = value;
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!raw[i] && rules[i].presence != optional) {
      throw FormatError(where_of(type, rules[i].name), "is missing");
    }
  }
  return build(type, kind, raw, Strictness::own_output);
}

std::pair<std::string, std::string> parse_field_assignment(std::string_view text) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    throw FormatError("field", quote_untrusted(text) + " is not of the form KEY=VALUE");
  }
  return {std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

void validate_element_data(ElementType type, const ElementData& data, Strictness strictness) {
  const DataKind kind = require_data_kind(type);
  static_cast<void>(build(type, kind, to_raw(type, kind, data), strictness));
}

nlohmann::ordered_json to_json(ElementType type, const ElementData& data) {
  const DataKind kind = require_data_kind(type);
  const RawFields raw = to_raw(type, kind, data);
  static_cast<void>(build(type, kind, raw, Strictness::own_output));
  const auto rules = rules_of(kind);
  auto json = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < rules.size(); ++i) json[std::string(rules[i].name)] = *raw[i];
  return json;
}

std::string to_json_text(ElementType type, const ElementData& data) {
  return to_json(type, data).dump();
}

std::string_view to_string(Gender gender) noexcept {
  return gender == Gender::female ? "female" : "male";
}

}  // namespace idvault::vault
