#include "host/agent/note_sync.h"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

#include "host/agent/audit_log.h"
#include "vault/model/element_error.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"
#include "vault/store/receipt_tree.h"
#include "vault/sync/cloud_item.h"

namespace idvault::agent {
namespace {

constexpr const char* kRevisionsSetting = "cloud.notes";
constexpr const char* kReceipt = "receipt";
constexpr const char* kElementType = "element_type";
constexpr const char* kJson = "json";

std::string receipt_id(const vault::StoredReceipt& receipt) {
  return vault::receipt_item_id(std::string(receipt.entry_hash.begin(), receipt.entry_hash.end()));
}

nlohmann::json note_plaintext(const vault::StoredNote& note) {
  return {{kElementType, vault::to_string(note.type)}, {kJson, note.json}};
}

// Bounded: the id is the server's to choose until it has been checked.
void refuse(const std::string& id, const std::string& why, NoteCounts& counts) {
  log(LogLevel::warning, "cloud: not keeping " + id.substr(0, 80) + ": " + why);
  ++counts.refused;
}

}  // namespace

NoteSync::NoteSync(cloud::CloudClient& client, const CloudLink& link, vault::VaultStore& store,
                   const vault::MasterKey& vault_key, ReceiptSigners signers)
    : client_(client),
      link_(link),
      store_(store),
      vault_key_(vault_key),
      signers_(std::move(signers)) {
  load_revisions();
}

void NoteSync::load_revisions() {
  revisions_.clear();
  auto value = store_.setting(kRevisionsSetting);
  // A device that starts keeping notes now takes them in under the current key.
  sealed_at_ = link_.vk_generation;
  if (!value) return;
  const auto json = nlohmann::json::parse(value->begin(), value->end());
  sealed_at_ = json.at("sealed_at").get<std::uint64_t>();
  revisions_ = json.at("items").get<std::map<std::string, std::string>>();
}

void NoteSync::record(const std::string& id, const std::string& revision) {
  revisions_[id] = revision;
  unsaved_ = true;
}

void NoteSync::save_revisions() {
  if (!unsaved_) return;  // a sync with nothing new writes nothing
  const std::string text = nlohmann::json{{"sealed_at", sealed_at_}, {"items", revisions_}}.dump();
  store_.put_setting(kRevisionsSetting, vault::Bytes(text.begin(), text.end()));
  unsaved_ = false;
}

NoteCounts NoteSync::push(bool everything) {
  NoteCounts counts;
  // The account moved to another vault key since this device last sealed its notes
  // (another device revoked one): every note it holds goes up again under the new key,
  // so that one only this device holds still opens on the others.
  const bool resealing = everything || sealed_at_ != link_.vk_generation;
  // Receipts in the order they were kept: a parent goes up before what follows it.
  try {
    for (const vault::StoredReceipt& receipt : store_.receipts()) {
      if (push_note(receipt_id(receipt), {{kReceipt, receipt.receipt_json}}, resealing))
        ++counts.pushed;
    }
    for (const vault::StoredNote& note : store_.attestations()) {
      if (push_note(vault::attestation_item_id(note.json), note_plaintext(note), resealing))
        ++counts.pushed;
    }
    for (const vault::StoredNote& note : store_.element_errors()) {
      if (push_note(vault::error_item_id(note.json), note_plaintext(note), resealing))
        ++counts.pushed;
    }
  } catch (...) {
    save_revisions();  // what went up before the failure is not sent again
    throw;
  }
  if (sealed_at_ != link_.vk_generation) {
    sealed_at_ = link_.vk_generation;
    unsaved_ = true;
  }
  save_revisions();
  return counts;
}

bool NoteSync::push_note(const std::string& id, const nlohmann::json& plaintext, bool everything) {
  const auto known = revisions_.find(id);
  if (known != revisions_.end() && !everything) return false;
  const std::string& account = link_.url.account;
  const vault::Bytes body = vault::seal_item(vault_key_, account, id, plaintext);
  std::optional<std::string> based_on;
  if (known != revisions_.end()) based_on = known->second;
  cloud::CloudClient::ItemWrite written = client_.put_item(account, id, body, based_on);
  if (!written.stored && !based_on) {
    // Already there: another device kept the same note, or this one sent it before a
    // crash. It is present if it opens to the same note; one that does not open (sealed
    // under a vault key replaced since) is written again over it.
    const auto current = client_.item(account, id);
    if (current && !current->deleted) {
      try {
        if (vault::open_item(vault_key_, account, id, current->bytes) == plaintext) {
          record(id, current->revision);
          return false;
        }
      } catch (const vault::CloudItemError&) {
      }
    }
    written = client_.put_item(account, id, body, written.revision);
  } else if (!written.stored) {
    written = client_.put_item(account, id, body, written.revision);  // sealed again meanwhile
  }
  if (!written.stored) {
    throw std::runtime_error("the cloud item " + id +
                             " kept changing while this device pushed; try 'idvault sync' again");
  }
  record(id, written.revision);
  return true;
}

NoteCounts NoteSync::pull(const std::vector<std::string>& item_ids) {
  NoteCounts counts;
  std::vector<Pulled> receipts;
  std::vector<Pulled> others;
  for (const std::string& id : item_ids) {
    if (revisions_.contains(id)) continue;  // sent or taken in before
    vault::ItemId parsed;
    try {
      parsed = vault::parse_item_id(id);
    } catch (const vault::FormatError&) {
      continue;
    }
    if (parsed.kind == vault::ItemKind::element) continue;
    const auto item = client_.item(link_.url.account, id);
    if (!item || item->deleted) continue;
    Pulled pulled{id, item->revision, nullptr};
    try {
      pulled.plaintext = vault::open_item(vault_key_, link_.url.account, id, item->bytes);
    } catch (const vault::CloudItemError& error) {
      refuse(id, error.what(), counts);
      continue;
    }
    (parsed.kind == vault::ItemKind::receipt ? receipts : others).push_back(std::move(pulled));
  }
  keep_receipts(std::move(receipts), counts);
  for (const Pulled& pulled : others) {
    if (keep_note(pulled, counts)) ++counts.pulled;
  }
  save_revisions();
  return counts;
}

void NoteSync::keep_receipts(std::vector<Pulled> receipts, NoteCounts& counts) {
  if (receipts.empty()) return;
  std::set<std::string> held;
  for (const vault::StoredReceipt& stored : store_.receipts())
    held.emplace(stored.entry_hash.begin(), stored.entry_hash.end());
  struct Candidate {
    Pulled pulled;
    vault::ShareReceipt receipt;
    std::string text;
    std::string entry_hash;
  };
  std::vector<Candidate> waiting;
  for (Pulled& pulled : receipts) {
    const std::string id = pulled.id;
    try {
      Candidate candidate{std::move(pulled), {}, {}, {}};
      candidate.text = candidate.pulled.plaintext.at(kReceipt).get<std::string>();
      candidate.receipt = vault::receipt_from_json(nlohmann::json::parse(candidate.text));
      candidate.entry_hash = vault::receipt_entry_hash(candidate.receipt);
      if ("receipt." + candidate.entry_hash != candidate.pulled.id) {
        refuse(candidate.pulled.id, "the receipt is not the one its id names", counts);
        continue;
      }
      if (held.contains(candidate.entry_hash)) {
        record(candidate.pulled.id, candidate.pulled.revision);
        continue;
      }
      waiting.push_back(std::move(candidate));
    } catch (const std::exception&) {
      refuse(id, "not a readable receipt", counts);
    }
  }
  const std::vector<vault::Bytes> keys = signers_.keys();
  // Parents first, whatever order the feed listed them in: each round keeps those whose
  // previous is held by now; what is left when a round keeps nothing follows a receipt
  // neither this device nor the account has.
  for (bool progress = true; progress && !waiting.empty();) {
    progress = false;
    for (auto candidate = waiting.begin(); candidate != waiting.end();) {
      const std::string& previous = candidate->receipt.fields.previous;
      if (previous != vault::kZeroEntryHash && !held.contains(previous)) {
        ++candidate;
        continue;
      }
      const auto fault =
          vault::receipt_fault(candidate->receipt, candidate->entry_hash, held, keys);
      if (fault) {
        refuse(candidate->pulled.id, *fault, counts);
      } else {
        store_.append_receipt(
            {0, candidate->text, vault::Bytes(previous.begin(), previous.end()),
             vault::Bytes(candidate->entry_hash.begin(), candidate->entry_hash.end())});
        held.insert(candidate->entry_hash);
        record(candidate->pulled.id, candidate->pulled.revision);
        ++counts.pulled;
      }
      candidate = waiting.erase(candidate);
      progress = true;
    }
  }
  for (const Candidate& candidate : waiting)
    refuse(candidate.pulled.id, "chain broken: follows a receipt this device does not hold",
           counts);
}

bool NoteSync::keep_note(const Pulled& pulled, NoteCounts& counts) {
  const vault::ItemKind kind = vault::parse_item_id(pulled.id).kind;
  std::string text;
  vault::ElementType type{};
  try {
    text = pulled.plaintext.at(kJson).get<std::string>();
    const auto parsed_type =
        vault::parse_element_type(pulled.plaintext.at(kElementType).get<std::string>());
    if (!parsed_type) throw vault::FormatError(kElementType, "names no element type");
    type = *parsed_type;
    const std::string expected = kind == vault::ItemKind::attestation
                                     ? vault::attestation_item_id(text)
                                     : vault::error_item_id(text);
    if (expected != pulled.id) {
      refuse(pulled.id, "the note is not the one its id names", counts);
      return false;
    }
    const nlohmann::json json = nlohmann::json::parse(text);
    if (kind == vault::ItemKind::attestation) {
      const vault::Attestation attestation = vault::attestation_from_json(json);
      if (attestation.claims.element_type != type)
        throw vault::FormatError(kElementType, "is not the attestation's");
      if (!vault::verify_attestation_signature(attestation)) {
        refuse(pulled.id, "the attestation's signature does not verify", counts);
        return false;
      }
      // Issued to the account itself (a share that carried the account proof), or to
      // one device's key (a share made before the vault joined an account).
      const bool ours = attestation.claims.holder_key_sha256 == link_.url.account ||
                        std::any_of(signers_.signers.begin(), signers_.signers.end(),
                                    [&](const ReceiptSigner& signer) {
                                      return vault::key_fingerprint(signer.identity_key) ==
                                             attestation.claims.holder_key_sha256;
                                    });
      if (!ours) {
        refuse(pulled.id,
               "the attestation is issued to neither the account nor a key of its devices", counts);
        return false;
      }
    } else if (vault::parse_element_error(json).type != type) {
      throw vault::FormatError(kElementType, "is not the error's");
    }
  } catch (const std::exception&) {
    refuse(pulled.id, "not a readable attestation or element error", counts);
    return false;
  }
  const std::vector<vault::StoredNote> held =
      kind == vault::ItemKind::attestation ? store_.attestations() : store_.element_errors();
  const bool already = std::any_of(
      held.begin(), held.end(), [&](const vault::StoredNote& note) { return note.json == text; });
  if (!already) {
    if (kind == vault::ItemKind::attestation) {
      (void)store_.add_attestation(type, text);
    } else {
      (void)store_.add_element_error(type, text);
    }
  }
  record(pulled.id, pulled.revision);
  return !already;
}

}  // namespace idvault::agent
