#include "vault/model/scope.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json_fields.h"
#include "common/quoted_text.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

// Far above any real scope (13 types with flags fit in well under 1 KiB); bounds the
// work a hostile link can cause before we reject it.
constexpr std::size_t kMaxScopeBytes = std::size_t{16} * 1024;

using T = ElementType;

// A packed alias, its full name, and what it stands for (two entries for the one_of
// aliases id_document and address_document).
struct TypeName {
  std::string_view alias;
  std::string_view full_name;
  std::vector<ElementType> types;
};

const std::vector<TypeName>& type_names() {
  static const std::vector<TypeName> names = {
      {"pd", "personal_details", {T::personal_details}},
      {"pp", "passport", {T::passport}},
      {"dl", "driver_license", {T::driver_license}},
      {"ic", "identity_card", {T::identity_card}},
      {"ip", "internal_passport", {T::internal_passport}},
      {"idd", "id_document", {T::passport, T::driver_license, T::identity_card}},
      {"ad", "address", {T::address}},
      {"ub", "utility_bill", {T::utility_bill}},
      {"bs", "bank_statement", {T::bank_statement}},
      {"ra", "rental_agreement", {T::rental_agreement}},
      {"pr", "passport_registration", {T::passport_registration}},
      {"tr", "temporary_registration", {T::temporary_registration}},
      {"add", "address_document", {T::utility_bill, T::bank_statement, T::rental_agreement}},
      {"pn", "phone_number", {T::phone_number}},
      {"em", "email", {T::email}},
  };
  return names;
}

// Full names and aliases are accepted in every form: a hand-written scope that mixes
// them is unambiguous, and refusing it would help nobody.
const TypeName& resolve_type_name(std::string_view name, const std::string& where) {
  for (const auto& entry : type_names()) {
    if (entry.alias == name || entry.full_name == name) return entry;
  }
  throw FormatError(where, quote_untrusted(name) + " is not a Passport element type");
}

std::string_view alias_of(ElementType type) {
  for (const auto& entry : type_names()) {
    if (entry.types.size() == 1 && entry.types.front() == type) return entry.alias;
  }
  return to_string(type);
}

// The key names of a JSON form; the legacy array uses the v1 names for its elements.
struct FormKeys {
  std::string_view list;
  std::string_view type;
  std::string_view one_of;
  std::string_view selfie;
  std::string_view translation;
  std::string_view native_names;
};
constexpr FormKeys kV1Keys{"data", "type", "one_of", "selfie", "translation", "native_names"};
constexpr FormKeys kPackedKeys{"d", "_", "_", "s", "t", "n"};

// Appended piece by piece: for `"literal" + std::string` GCC 12 at -O3 inlines
// libstdc++'s insert-at-front and reports an overlap that cannot happen (-Wrestrict).
std::string item_where(ScopeForm form, std::size_t index) {
  std::string where = "scope";
  switch (form) {
    case ScopeForm::v1_json:
      where += ".data";
      break;
    case ScopeForm::packed_json:
      where += ".d";
      break;
    case ScopeForm::legacy_array:
    case ScopeForm::legacy_list:
      break;
  }
  where += '[';
  where += std::to_string(index);
  where += ']';
  return where;
}

std::string key_where(const std::string& where, std::string_view key) {
  return where + "." + std::string(key);
}

struct Flags {
  bool selfie = false;
  bool translation = false;
  bool native_names = false;
};

// The SDK writes flags as 1 and the docs type them Boolean, so both are accepted.
bool read_flag(const nlohmann::json& object, std::string_view key, const std::string& where) {
  const auto found = object.find(std::string(key));
  if (found == object.end()) return false;
  if (found->is_boolean()) return found->get<bool>();
  if (found->is_number_integer()) {
    const auto value = found->get<std::int64_t>();
    if (value == 0 || value == 1) return value == 1;
  }
  throw FormatError(key_where(where, key), "must be true, false, 1 or 0");
}

Flags read_flags(const nlohmann::json& object, const FormKeys& keys, const std::string& where) {
  return {read_flag(object, keys.selfie, where), read_flag(object, keys.translation, where),
          read_flag(object, keys.native_names, where)};
}

void add_choices(std::vector<ScopeChoice>& choices, const TypeName& name, const Flags& flags) {
  for (const auto type : name.types) {
    choices.push_back({type, flags.selfie, flags.translation, flags.native_names});
  }
}

// A member of a one_of list: a name, or an object with a type and its own flags.
void parse_one_of_member(const nlohmann::json& member, const FormKeys& keys,
                         const std::string& where, std::vector<ScopeChoice>& choices) {
  if (member.is_string()) {
    add_choices(choices, resolve_type_name(member.get<std::string>(), where), {});
    return;
  }
  if (!member.is_object()) throw FormatError(where, "must be a type name or an object");
  const auto type = member.find(std::string(keys.type));
  if (type == member.end() || !type->is_string()) {
    throw FormatError(where, "needs \"" + std::string(keys.type) +
                                 "\" naming one type (a one_of cannot hold another one_of)");
  }
  add_choices(choices, resolve_type_name(type->get<std::string>(), key_where(where, keys.type)),
              read_flags(member, keys, where));
}

ScopeItem parse_one_of(const nlohmann::json& list, const FormKeys& keys, const std::string& where) {
  ScopeItem item;
  item.one_of = true;
  const auto list_where = key_where(where, keys.one_of);
  for (std::size_t i = 0; i < list.size(); ++i) {
    parse_one_of_member(list[i], keys, list_where + "[" + std::to_string(i) + "]", item.choices);
  }
  return item;
}

ScopeItem parse_item(const nlohmann::json& element, const FormKeys& keys,
                     const std::string& where) {
  if (element.is_string()) {
    const auto& name = resolve_type_name(element.get<std::string>(), where);
    ScopeItem item;
    item.one_of = name.types.size() > 1;
    add_choices(item.choices, name, {});
    return item;
  }
  if (!element.is_object()) throw FormatError(where, "must be a type name or an object");

  const auto type = element.find(std::string(keys.type));
  const auto one_of = element.find(std::string(keys.one_of));
  ScopeItem item;
  if (type != element.end() && type->is_string()) {
    if (keys.type != keys.one_of && one_of != element.end()) {
      throw FormatError(where, "has both \"type\" and \"one_of\"");
    }
    const auto& name = resolve_type_name(type->get<std::string>(), key_where(where, keys.type));
    item.one_of = name.types.size() > 1;
    add_choices(item.choices, name, {});
  } else if (one_of != element.end() && one_of->is_array()) {
    if (type != element.end() && keys.type != keys.one_of) {
      throw FormatError(where, "has both \"type\" and \"one_of\"");
    }
    item = parse_one_of(*one_of, keys, where);
  } else {
    throw FormatError(where, keys.type == keys.one_of
                                 ? "needs \"_\": a type name or an array of them"
                                 : "needs \"type\" (a type name) or \"one_of\" (an array of them)");
  }

  // Flags on a one_of apply to each choice in it.
  const Flags flags = read_flags(element, keys, where);
  for (auto& choice : item.choices) {
    choice.selfie = choice.selfie || flags.selfie;
    choice.translation = choice.translation || flags.translation;
    choice.native_names = choice.native_names || flags.native_names;
  }
  return item;
}

void check_choice(const ScopeChoice& choice, const std::string& where) {
  const auto name = std::string(to_string(choice.type));
  if (choice.selfie && !is_identity_document(choice.type)) {
    throw FormatError(where, "selfie is not allowed for " + name);
  }
  if (choice.translation && !is_identity_document(choice.type) &&
      !is_address_document(choice.type)) {
    throw FormatError(where, "translation is not allowed for " + name);
  }
  if (choice.native_names && choice.type != ElementType::personal_details) {
    throw FormatError(where, "native_names is not allowed for " + name);
  }
}

void check_one_of(const ScopeItem& item, const std::string& where) {
  const auto& choices = item.choices;
  const auto all = [&](bool (*test)(ElementType) noexcept) {
    return std::all_of(choices.begin(), choices.end(),
                       [&](const ScopeChoice& choice) { return test(choice.type); });
  };
  if (!all(&is_identity_document) && !all(&is_address_document)) {
    throw FormatError(where,
                      "one_of must hold only identity documents (passport, driver_license, "
                      "identity_card, internal_passport) or only proof-of-address documents "
                      "(utility_bill, bank_statement, rental_agreement, passport_registration, "
                      "temporary_registration)");
  }
}

void validate_items(const ScopeRequest& scope) {
  if (scope.items.empty()) throw FormatError("scope", "asks for nothing");
  std::map<ElementType, std::string> first_seen;
  for (std::size_t i = 0; i < scope.items.size(); ++i) {
    const auto& item = scope.items[i];
    const auto where = item_where(scope.form, i);
    if (item.choices.empty()) throw FormatError(where, "one_of is empty");
    if (!item.one_of && item.choices.size() != 1) {
      throw FormatError(where, "an item that is not one_of names exactly one type");
    }
    for (const auto& choice : item.choices) {
      check_choice(choice, where);
      const auto [seen, inserted] = first_seen.emplace(choice.type, where);
      if (!inserted) {
        throw FormatError(where, std::string(to_string(choice.type)) +
                                     " is asked for more than once (also at " + seen->second + ")");
      }
    }
    if (item.one_of) check_one_of(item, where);
  }
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

ScopeRequest parse_legacy_list(std::string_view text) {
  ScopeRequest scope;
  scope.form = ScopeForm::legacy_list;
  std::size_t index = 0;
  while (true) {
    const auto comma = text.find(',');
    const auto where = item_where(scope.form, index++);
    const auto name = trim(text.substr(0, comma));
    if (name.empty()) throw FormatError(where, "is empty");
    scope.items.push_back(parse_item(nlohmann::json(std::string(name)), kV1Keys, where));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return scope;
}

void check_version(const nlohmann::json& object) {
  const auto v = object.find("v");
  if (v == object.end()) return;
  if (!v->is_number_integer() || v->get<std::int64_t>() != 1) {
    throw FormatError("scope.v", "must be 1, the only PassportScope version there is");
  }
}

ScopeRequest parse_json_scope(const nlohmann::json& json) {
  ScopeRequest scope;
  const nlohmann::json* list = &json;
  const FormKeys* keys = &kV1Keys;
  if (json.is_array()) {
    scope.form = ScopeForm::legacy_array;
  } else {
    const bool packed = json.contains("d");
    if (packed && json.contains("data")) throw FormatError("scope", "has both \"d\" and \"data\"");
    if (!packed && !json.contains("data")) {
      throw FormatError("scope", "needs \"data\" (or \"d\" in the packed form)");
    }
    check_version(json);
    scope.form = packed ? ScopeForm::packed_json : ScopeForm::v1_json;
    keys = packed ? &kPackedKeys : &kV1Keys;
    list = &json[packed ? "d" : "data"];
    if (!list->is_array()) {
      throw FormatError(packed ? "scope.d" : "scope.data", "must be an array");
    }
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    scope.items.push_back(parse_item((*list)[i], *keys, item_where(scope.form, i)));
  }
  return scope;
}

// Flags shared by every choice of an item: written once on the item.
Flags common_flags(const ScopeItem& item) {
  Flags flags{true, true, true};
  for (const auto& choice : item.choices) {
    flags.selfie = flags.selfie && choice.selfie;
    flags.translation = flags.translation && choice.translation;
    flags.native_names = flags.native_names && choice.native_names;
  }
  return flags;
}

nlohmann::ordered_json flag_value(bool packed) {
  return packed ? nlohmann::ordered_json(1) : nlohmann::ordered_json(true);
}

void write_flags(nlohmann::ordered_json& object, const Flags& flags, const Flags& already,
                 const FormKeys& keys, bool packed) {
  if (flags.selfie && !already.selfie) object[std::string(keys.selfie)] = flag_value(packed);
  if (flags.translation && !already.translation) {
    object[std::string(keys.translation)] = flag_value(packed);
  }
  if (flags.native_names && !already.native_names) {
    object[std::string(keys.native_names)] = flag_value(packed);
  }
}

nlohmann::ordered_json write_choice(const ScopeChoice& choice, const Flags& already,
                                    const FormKeys& keys, bool packed) {
  const std::string name(packed ? alias_of(choice.type) : to_string(choice.type));
  const Flags own{choice.selfie, choice.translation, choice.native_names};
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  object[std::string(keys.type)] = name;
  write_flags(object, own, already, keys, packed);
  if (object.size() == 1) return name;
  return object;
}

std::string write_scope(const ScopeRequest& scope, bool packed) {
  validate_scope(scope);
  const FormKeys& keys = packed ? kPackedKeys : kV1Keys;
  auto list = nlohmann::ordered_json::array();
  for (const auto& item : scope.items) {
    if (!item.one_of) {
      list.push_back(write_choice(item.choices.front(), {}, keys, packed));
      continue;
    }
    const Flags common = common_flags(item);
    auto members = nlohmann::ordered_json::array();
    for (const auto& choice : item.choices) {
      members.push_back(write_choice(choice, common, keys, packed));
    }
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    object[std::string(keys.one_of)] = std::move(members);
    write_flags(object, common, {}, keys, packed);
    list.push_back(std::move(object));
  }
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  json[std::string(keys.list)] = std::move(list);
  json["v"] = 1;
  return json.dump();
}

const ScopeChoice* find_choice(const ScopeRequest& scope, ElementType type) {
  for (const auto& item : scope.items) {
    for (const auto& choice : item.choices) {
      if (choice.type == type) return &choice;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<ElementType> ScopeRequest::all_types() const {
  std::vector<ElementType> types;
  for (const auto& item : items) {
    for (const auto& choice : item.choices) types.push_back(choice.type);
  }
  return types;
}

bool ScopeRequest::contains(ElementType type) const {
  return find_choice(*this, type) != nullptr;
}

bool ScopeRequest::wants_selfie(ElementType type) const {
  const auto* choice = find_choice(*this, type);
  return choice != nullptr && choice->selfie;
}

bool ScopeRequest::wants_translation(ElementType type) const {
  const auto* choice = find_choice(*this, type);
  return choice != nullptr && choice->translation;
}

bool ScopeRequest::wants_native_names() const {
  const auto* choice = find_choice(*this, ElementType::personal_details);
  return choice != nullptr && choice->native_names;
}

ScopeRequest parse_scope(std::string_view text) {
  if (text.size() > kMaxScopeBytes) {
    throw FormatError("scope", "is longer than " + std::to_string(kMaxScopeBytes) + " bytes");
  }
  const auto trimmed = trim(text);
  if (trimmed.empty()) throw FormatError("scope", "is empty");
  ScopeRequest scope;
  if (trimmed.front() == '{' || trimmed.front() == '[') {
    scope = parse_json_scope(json_fields::parse(trimmed, "scope"));
  } else {
    scope = parse_legacy_list(trimmed);
  }
  validate_items(scope);
  return scope;
}

void validate_scope(const ScopeRequest& scope) {
  validate_items(scope);
}

std::string to_v1_json(const ScopeRequest& scope) {
  return write_scope(scope, false);
}

std::string to_packed_json(const ScopeRequest& scope) {
  return write_scope(scope, true);
}

}  // namespace idvault::vault
