#include "vault/sync/element_merge.h"

#include <algorithm>
#include <array>
#include <set>
#include <stdexcept>

#include "common/format_error.h"
#include "common/hex.h"

namespace idvault::vault {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kDataPrefix = "data.";
constexpr std::string_view kPlainField = "plain";
constexpr std::array<std::string_view, 5> kSlots = {"front_side", "reverse_side", "selfie", "files",
                                                    "translation"};

bool is_slot(std::string_view field) {
  return std::find(kSlots.begin(), kSlots.end(), field) != kSlots.end();
}

bool absent(const Json& value) {
  return value.is_null() || value == Json("");
}

// The same conflict, seen from either side: a conflict the other device recorded has
// its values the other way round.
bool same_conflict(const FieldConflict& a, const FieldConflict& b) {
  return a.field == b.field && ((a.local == b.local && a.remote == b.remote) ||
                                (a.local == b.remote && a.remote == b.local));
}

bool contains(const std::vector<FieldConflict>& list, const FieldConflict& conflict) {
  return std::any_of(list.begin(), list.end(),
                     [&](const FieldConflict& c) { return same_conflict(c, conflict); });
}

FieldConflict swapped(const FieldConflict& c) {
  return {c.field, c.remote, c.local};
}

// The recorded conflicts, merged as a set: one on both sides stays, one only a side
// added stays, one in the parent that a side no longer has was settled there.
std::vector<FieldConflict> carried_conflicts(const ElementState& parent, const ElementState& local,
                                             const ElementState& remote) {
  std::vector<FieldConflict> carried;
  for (const auto& c : local.conflicts) {
    if (contains(remote.conflicts, c) || !contains(parent.conflicts, c)) carried.push_back(c);
  }
  for (const auto& c : remote.conflicts) {
    if (!contains(local.conflicts, c) && !contains(parent.conflicts, c)) {
      carried.push_back(swapped(c));  // recorded there: its "local" was the other device
    }
  }
  return carried;
}

struct FieldMerge {
  ElementFields merged;
  std::vector<FieldConflict> conflicts;
  std::set<std::string> agreed_changes;  // changed on both sides to the same value
};

FieldMerge merge_fields(const std::optional<ElementFields>& parent, const ElementFields& local,
                        const ElementFields& remote) {
  const Json p = parent ? fields_json(*parent) : Json::object();
  const Json l = fields_json(local);
  const Json r = fields_json(remote);
  std::set<std::string> names;
  for (const Json* side : {&p, &l, &r}) {
    for (const auto& [name, value] : side->items()) names.insert(name);
  }
  FieldMerge out;
  for (const auto& name : names) {
    const Json pv = p.value(name, Json());
    const Json lv = l.value(name, Json());
    const Json rv = r.value(name, Json());
    Json value;
    if (lv == rv) {
      value = lv;
      if (lv != pv) out.agreed_changes.insert(name);
    } else if (lv == pv) {
      value = rv;
    } else if (rv == pv) {
      value = lv;
    } else {
      out.conflicts.push_back({name, lv, rv});
      value = lv;  // the conflict keeps both; the element shows this device's until resolved
    }
    set_field(out.merged, name, value);
  }
  return out;
}

}  // namespace

ElementFields element_fields(const StoredElement& stored, const nlohmann::json& decrypted_data) {
  ElementFields fields;
  if (!decrypted_data.is_null()) {
    if (!decrypted_data.is_object()) throw FormatError("data", "must be a JSON object");
    for (const auto& [name, value] : decrypted_data.items()) {
      if (!absent(value)) fields.data.emplace(name, value);
    }
  }
  if (stored.plain && !stored.plain->empty()) fields.plain = stored.plain;
  // stored.files is ordered by slot then position (VaultStore), so lists keep their order.
  for (const auto& file : stored.files)
    fields.files[file.slot].push_back(hex_lower(file.file_hash));
  return fields;
}

nlohmann::json data_object(const ElementFields& fields) {
  Json data = Json::object();
  for (const auto& [name, value] : fields.data) data[name] = value;
  return data;
}

nlohmann::json field_value(const ElementFields& fields, std::string_view field) {
  if (field == kElementField) return fields_json(fields);
  if (field == kPlainField) return fields.plain ? Json(*fields.plain) : Json();
  if (is_slot(field)) {
    const auto it = fields.files.find(std::string(field));
    return it == fields.files.end() ? Json() : Json(it->second);
  }
  if (field.starts_with(kDataPrefix)) {
    const auto it = fields.data.find(std::string(field.substr(kDataPrefix.size())));
    return it == fields.data.end() ? Json() : it->second;
  }
  throw std::invalid_argument("no element field " + std::string(field));
}

void set_field(ElementFields& fields, std::string_view field, const nlohmann::json& value) {
  if (field == kPlainField) {
    if (absent(value)) {
      fields.plain.reset();
    } else {
      fields.plain = value.get<std::string>();
    }
  } else if (is_slot(field)) {
    const std::string slot(field);
    if (value.is_null() || value.empty()) {
      fields.files.erase(slot);
    } else {
      fields.files[slot] = value.get<std::vector<std::string>>();
    }
  } else if (field.starts_with(kDataPrefix) && field.size() > kDataPrefix.size()) {
    const std::string name(field.substr(kDataPrefix.size()));
    if (absent(value)) {
      fields.data.erase(name);
    } else {
      fields.data[name] = value;
    }
  } else {
    throw std::invalid_argument("no element field " + std::string(field));
  }
}

nlohmann::json fields_json(const ElementFields& fields) {
  Json out = Json::object();
  for (const auto& [name, value] : fields.data) out[std::string(kDataPrefix) + name] = value;
  if (fields.plain) out[std::string(kPlainField)] = *fields.plain;
  for (const auto& [slot, hashes] : fields.files) out[slot] = hashes;
  return out;
}

ElementFields fields_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("element fields must be a JSON object");
  ElementFields fields;
  for (const auto& [name, value] : json.items()) set_field(fields, name, value);
  return fields;
}

MergeResult merge_element(const ElementState& parent, const ElementState& local,
                          const ElementState& remote) {
  MergeResult out;
  const auto& p = parent.element;
  const auto& l = local.element;
  const auto& r = remote.element;
  std::vector<FieldConflict> fresh;
  std::set<std::string> agreed_changes;
  if (l && r) {
    FieldMerge merge = merge_fields(p, *l, *r);
    out.element = std::move(merge.merged);
    fresh = std::move(merge.conflicts);
    agreed_changes = std::move(merge.agreed_changes);
  } else if (l || r) {
    // One side has it, the other has not: created on one side, or deleted on the other.
    const bool deleted_locally = static_cast<bool>(r);
    const ElementFields& kept = l ? *l : *r;
    if (!p) {
      out.element = kept;  // created on one side only
    } else if (kept != *p) {
      out.element = kept;  // delete against edit: keep the edit, record the delete
      const Json edited = fields_json(kept);
      fresh.push_back({std::string(kElementField), deleted_locally ? Json() : edited,
                       deleted_locally ? edited : Json()});
    }
  }
  if (!out.element) return out;  // deleted: no field is left to disagree about

  for (auto& c : carried_conflicts(parent, local, remote)) {
    if (agreed_changes.count(c.field) == 0) out.conflicts.push_back(std::move(c));
  }
  for (auto& c : fresh) {
    if (!contains(out.conflicts, c)) out.conflicts.push_back(std::move(c));
  }
  return out;
}

MergeResult merge_element(const std::optional<ElementFields>& parent,
                          const std::optional<ElementFields>& local,
                          const std::optional<ElementFields>& remote) {
  return merge_element(ElementState{parent, {}}, ElementState{local, {}}, ElementState{remote, {}});
}

std::size_t resolve(MergeResult& merged, const std::optional<std::string>& field, Take take) {
  std::size_t settled = 0;
  // In order, so where one field has several records the newest (last) decides.
  for (const auto& c : merged.conflicts) {
    if (field && c.field != *field) continue;
    ++settled;
    const Json& value = take == Take::local ? c.local : c.remote;
    if (c.field == kElementField) {
      merged.element =
          value.is_null() ? std::nullopt : std::optional<ElementFields>(fields_from_json(value));
    } else if (merged.element) {
      set_field(*merged.element, c.field, value);
    }
  }
  if (!merged.element) {
    merged.conflicts.clear();  // deleted: nothing is left to disagree about
  } else {
    std::erase_if(merged.conflicts,
                  [&](const FieldConflict& c) { return !field || c.field == *field; });
  }
  return settled;
}

}  // namespace idvault::vault
