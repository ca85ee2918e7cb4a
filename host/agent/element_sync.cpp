#include "host/agent/element_sync.h"

#include <set>

#include "common/base64.h"
#include "common/hex.h"
#include "vault/model/errors.h"
#include "vault/sync/cloud_item.h"
#include "vault/sync/element_item.h"
#include "vault/sync/element_reconcile.h"

namespace idvault::agent {
namespace {

constexpr const char* kStatesSetting = "cloud.items";
constexpr const char* kConflicts = "conflicts";
constexpr int kStaleRetries = 3;

// An element item's plaintext split into the element and its conflicts (local view when
// swap: a list another device wrote names that device "local").
struct ParsedItem {
  vault::ElementItem item;
  std::vector<vault::FieldConflict> conflicts;
};

ParsedItem parse_item(nlohmann::json plaintext, bool swap) {
  ParsedItem parsed;
  if (plaintext.is_object() && plaintext.contains(kConflicts)) {
    parsed.conflicts = vault::conflicts_from_json(plaintext[kConflicts], swap);
    plaintext.erase(kConflicts);
  }
  parsed.item = vault::parse_element_item(plaintext);
  return parsed;
}

nlohmann::json item_plaintext(const vault::ElementItem& item,
                              const std::vector<vault::FieldConflict>& conflicts) {
  nlohmann::json plaintext = vault::element_item_json(item);
  if (!conflicts.empty()) plaintext[kConflicts] = vault::conflicts_json(conflicts);
  return plaintext;
}

// Files read back from the store name the pack they live in; an element stored again
// gets its files written into a pack of its own, so the old one can go.
void detach_files(vault::StoredElement& element) {
  for (vault::StoredFile& file : element.files) {
    file.stored_name.clear();
    file.stored_offset = 0;
  }
}

}  // namespace

std::map<vault::ElementType, std::vector<vault::FieldConflict>> stored_conflicts(
    vault::VaultStore& store) {
  std::map<vault::ElementType, std::vector<vault::FieldConflict>> conflicts;
  auto value = store.setting(kStatesSetting);
  if (!value) return conflicts;
  const auto json = nlohmann::json::parse(value->begin(), value->end());
  for (const auto& [id, state] : json.items()) {
    const vault::ItemId item = vault::parse_item_id(id);
    auto list = vault::conflicts_from_json(state.at(kConflicts), false);
    if (item.kind == vault::ItemKind::element && !list.empty())
      conflicts[item.element] = std::move(list);
  }
  return conflicts;
}

ElementSync::ElementSync(cloud::CloudClient& client, const CloudLink& link,
                         vault::VaultStore& store, const vault::MasterKey& vault_key)
    : client_(client), link_(link), store_(store), vault_key_(vault_key) {
  load_states();
}

void ElementSync::load_states() {
  states_.clear();
  auto value = store_.setting(kStatesSetting);
  if (!value) return;
  const auto json = nlohmann::json::parse(value->begin(), value->end());
  for (const auto& [id, state] : json.items()) {
    states_[id] = ItemState{state.at("revision").get<std::string>(), state.at("parent"),
                            vault::conflicts_from_json(state.at(kConflicts), false)};
  }
}

void ElementSync::save_states() {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [id, state] : states_) {
    json[id] = {{"revision", state.revision},
                {"parent", state.parent},
                {kConflicts, vault::conflicts_json(state.conflicts)}};
  }
  const std::string text = json.dump();
  store_.put_setting(kStatesSetting, vault::Bytes(text.begin(), text.end()));
}

bool ElementSync::changed_here(const std::string& item_id,
                               const std::optional<vault::StoredElement>& local) const {
  const auto state = states_.find(item_id);
  if (state == states_.end() || state->second.parent.is_null()) return local.has_value();
  if (!local) return true;
  const ParsedItem parent = parse_item(state->second.parent, false);
  return local->element_hash != parent.item.element.element_hash ||
         state->second.conflicts != parent.conflicts;
}

std::pair<std::string, vault::Bytes> rewrapped_sync_states(vault::VaultStore& store,
                                                           const vault::MasterKey& from,
                                                           const vault::MasterKey& to) {
  nlohmann::json json = nlohmann::json::object();
  if (auto value = store.setting(kStatesSetting))
    json = nlohmann::json::parse(value->begin(), value->end());
  for (auto& [id, state] : json.items()) {
    nlohmann::json& parent = state.at("parent");
    if (parent.is_null()) continue;
    ParsedItem parsed = parse_item(parent, false);
    vault::StoredElement& element = parsed.item.element;
    if (!element.wrapped_data_secret.empty())
      element.wrapped_data_secret = to.wrap(from.unwrap(element.wrapped_data_secret));
    for (vault::StoredFile& file : element.files)
      file.wrapped_secret = to.wrap(from.unwrap(file.wrapped_secret));
    parent = item_plaintext(parsed.item, parsed.conflicts);
  }
  const std::string text = json.dump();
  return {kStatesSetting, vault::Bytes(text.begin(), text.end())};
}

SyncCounts ElementSync::push(bool everything) {
  SyncCounts counts;
  std::set<vault::ElementType> types;
  for (const vault::StoredElement& element : store_.elements(false)) types.insert(element.type);
  for (const auto& [id, state] : states_) {
    const vault::ItemId parsed = vault::parse_item_id(id);
    if (parsed.kind == vault::ItemKind::element) types.insert(parsed.element);
  }
  for (vault::ElementType type : types) {
    if (push_element(type, kStaleRetries, everything)) ++counts.pushed;
  }
  for (const auto& [id, state] : states_) counts.conflicts += state.conflicts.size();
  return counts;
}

bool ElementSync::push_element(vault::ElementType type, int retries, bool even_unchanged) {
  const std::string id = vault::element_item_id(type);
  // The scans are read only for an element that goes up, not for every element at
  // every push.
  std::optional<vault::StoredElement> local = store_.element(type, false);
  if (!changed_here(id, local) && !(even_unchanged && local)) return false;
  if (local) local = store_.element(type, true);
  const auto known = states_.find(id);
  const bool has_state = known != states_.end();
  ItemState state = has_state ? known->second : ItemState{};
  cloud::CloudClient::ItemWrite written;
  nlohmann::json plaintext = nullptr;
  if (local) {
    const vault::ElementItem item = vault::element_item_of(*local);
    std::set<std::string> on_server;
    if (!state.parent.is_null()) {
      for (const std::string& sha : parse_item(state.parent, false).item.file_sha256)
        on_server.insert(sha);
    }
    for (std::size_t i = 0; i < item.file_sha256.size(); ++i) {
      if (!on_server.contains(item.file_sha256[i]))
        (void)client_.put_file(link_.url.account, local->files[i].ciphertext);
    }
    plaintext = item_plaintext(item, state.conflicts);
    const vault::Bytes body = vault::seal_item(vault_key_, link_.url.account, id, plaintext);
    written = client_.put_item(link_.url.account, id, body,
                               has_state ? std::optional(state.revision) : std::nullopt);
  } else {
    written = client_.delete_item(link_.url.account, id, state.revision);
  }
  if (!written.stored) {
    // Another device wrote first: bring its version in (merging), then try again.
    if (retries == 0) {
      throw std::runtime_error("the cloud item " + id +
                               " kept changing while this device pushed; try 'idvault sync' again");
    }
    SyncCounts ignored;
    pull_item(id, ignored);
    return push_element(type, retries - 1, even_unchanged);
  }
  state.revision = written.revision;
  state.parent = plaintext;
  states_[id] = std::move(state);
  save_states();
  return true;
}

SyncCounts ElementSync::pull(std::int64_t& changes_seen, std::vector<std::string>* notes) {
  SyncCounts counts;
  std::set<std::string> noted;
  for (;;) {
    const cloud::CloudClient::Changes changes =
        client_.changes(link_.url.account, changes_seen, std::chrono::seconds(0));
    if (changes.changes.empty()) break;
    std::set<std::string> items;  // each item once, however often it changed
    for (const auto& change : changes.changes) {
      if (change.kind != "item") continue;
      if (change.id.starts_with("element.")) {
        items.insert(change.id);
      } else if (notes != nullptr && noted.insert(change.id).second) {
        notes->push_back(change.id);
      }
    }
    for (const std::string& id : items) pull_item(id, counts);
    changes_seen = changes.counter;
  }
  for (const auto& [id, state] : states_) counts.conflicts += state.conflicts.size();
  return counts;
}

void ElementSync::store_remote_files(vault::StoredElement& element,
                                     const std::map<std::string, std::string>& sha_by_hash) {
  for (vault::StoredFile& file : element.files) {
    if (!file.ciphertext.empty()) continue;
    const auto sha = sha_by_hash.find(hex_lower(file.file_hash));
    if (sha == sha_by_hash.end()) {
      throw vault::FormatError(std::string(vault::to_string(element.type)) + "." + file.slot,
                               "a file neither this device nor the item has");
    }
    file.ciphertext = client_.file(link_.url.account, sha->second);
    if (file.ciphertext.size() != file.ciphertext_size) {
      throw vault::FormatError(std::string(vault::to_string(element.type)) + "." + file.slot,
                               "the file from the server is not the size its item names");
    }
  }
  detach_files(element);
}

void ElementSync::pull_item(const std::string& item_id, SyncCounts& counts) {
  const vault::ItemId parsed_id = vault::parse_item_id(item_id);
  if (parsed_id.kind != vault::ItemKind::element) return;
  const std::optional<cloud::CloudClient::Item> remote = client_.item(link_.url.account, item_id);
  if (!remote) return;
  ItemState& state = states_[item_id];
  if (!state.revision.empty() && state.revision == remote->revision) return;

  vault::StoredSide remote_side;
  nlohmann::json remote_plaintext = nullptr;  // in this device's view
  std::map<std::string, std::string> remote_sha_by_hash;
  if (!remote->deleted) {
    ParsedItem item =
        parse_item(vault::open_item(vault_key_, link_.url.account, item_id, remote->bytes), true);
    if (item.item.element.type != parsed_id.element) {
      throw vault::FormatError(item_id, "the item holds another element type");
    }
    for (std::size_t i = 0; i < item.item.element.files.size(); ++i)
      remote_sha_by_hash[hex_lower(item.item.element.files[i].file_hash)] =
          item.item.file_sha256[i];
    remote_plaintext = item_plaintext(item.item, item.conflicts);
    remote_side.element = item.item.element;
    remote_side.conflicts = item.conflicts;
  }

  std::optional<vault::StoredElement> local = store_.element(parsed_id.element, false);
  if (!changed_here(item_id, local)) {
    // Nothing changed here since the parent: the server's version is the element.
    if (remote_side.element) {
      vault::StoredElement element = *remote_side.element;
      store_remote_files(element, remote_sha_by_hash);
      store_.put_element(element);
    } else if (local) {
      (void)store_.remove_element(parsed_id.element);
    }
    state.conflicts = remote_side.conflicts;
  } else {
    vault::StoredSide parent_side;
    if (!state.parent.is_null()) {
      ParsedItem parent = parse_item(state.parent, false);
      parent_side.element = parent.item.element;
      parent_side.conflicts = parent.conflicts;
    }
    // A merge may keep this device's files: their bytes go into the merged element's pack.
    if (local) local = store_.element(parsed_id.element, true);
    vault::StoredSide local_side{local, state.conflicts};
    vault::Reconciled merged =
        vault::reconcile_element(vault_key_, parent_side, local_side, remote_side);
    if (merged.element) {
      store_remote_files(*merged.element, remote_sha_by_hash);
      store_.put_element(*merged.element);
    } else if (local) {
      (void)store_.remove_element(parsed_id.element);
    }
    state.conflicts = std::move(merged.conflicts);
  }
  state.revision = remote->revision;
  state.parent = remote_plaintext;
  save_states();
  ++counts.pulled;
}

std::vector<vault::FieldConflict> ElementSync::conflicts(vault::ElementType type) {
  const auto state = states_.find(vault::element_item_id(type));
  return state == states_.end() ? std::vector<vault::FieldConflict>{} : state->second.conflicts;
}

std::size_t ElementSync::resolve(vault::ElementType type, const std::optional<std::string>& field,
                                 vault::Take take) {
  const std::string id = vault::element_item_id(type);
  const auto found = states_.find(id);
  if (found == states_.end() || found->second.conflicts.empty()) return 0;
  ItemState& state = found->second;
  vault::StoredSide local{store_.element(type, true), state.conflicts};
  vault::StoredSide other;
  std::map<std::string, std::string> sha_by_hash;
  if (!state.parent.is_null()) {
    ParsedItem parent = parse_item(state.parent, false);
    for (std::size_t i = 0; i < parent.item.element.files.size(); ++i)
      sha_by_hash[hex_lower(parent.item.element.files[i].file_hash)] = parent.item.file_sha256[i];
    other.element = parent.item.element;
  }
  std::size_t settled = 0;
  vault::Reconciled resolved =
      vault::resolve_element(vault_key_, local, other, field, take, settled);
  if (settled == 0) return 0;
  if (resolved.element) {
    store_remote_files(*resolved.element, sha_by_hash);
    store_.put_element(*resolved.element);
  } else if (local.element) {
    (void)store_.remove_element(type);
  }
  state.conflicts = std::move(resolved.conflicts);
  save_states();
  return settled;
}

}  // namespace idvault::agent
