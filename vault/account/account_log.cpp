#include "vault/account/account_log.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <initializer_list>
#include <set>

#include "common/base64.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kRecovery = "recovery";  // approved_by of the recovery key; its slot
constexpr int kMinSlotKeyBits = 2048;
constexpr int kMinRecoveryKeyBits = 3072;
constexpr std::size_t kMaxIdLength = 64;

namespace kind {
constexpr std::string_view genesis = "genesis";
constexpr std::string_view device_add = "device-add";
constexpr std::string_view device_revoke = "device-revoke";
constexpr std::string_view slot_add = "slot-add";
constexpr std::string_view slot_remove = "slot-remove";
constexpr std::string_view key_rotate = "key-rotate";
}  // namespace kind

[[noreturn]] void fail(LogFault fault, std::uint64_t seq, const std::string& reason) {
  throw AccountLogError(fault, seq, reason);
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

bool is_id(std::string_view id);

// A member name from the entry, shown only when it is a plain name.
std::string member_name(std::string_view name) {
  return is_id(name) ? "member " + in_quotes(name) : std::string("member");
}

// The one envelope form: what is signed and hashed, and what a reader demands back.
std::string envelope_bytes(std::string_view alg, ByteView public_key, const Json& statement,
                           ByteView signature) {
  return canonical_bytes(Json{{"alg", alg},
                              {"public_key", base64_encode(public_key)},
                              {"signature", base64_encode(signature)},
                              {"signed", statement}});
}

struct Entry {
  std::string alg;
  Bytes public_key;
  Bytes signature;
  Json statement;
  std::string hash;
};

Entry parse_entry(std::string_view text, std::uint64_t seq) {
  const std::string where = "account_log[" + std::to_string(seq) + "]";
  Entry entry;
  try {
    Json json = json_fields::parse(text, where);
    if (!json.is_object()) fail(LogFault::malformed, seq, "not a JSON object");
    for (const auto& [name, value] : json.items()) {
      if (name != "alg" && name != "public_key" && name != "signature" && name != "signed")
        fail(LogFault::malformed, seq, "unknown " + member_name(name));
    }
    // The version first, so a reader older than the entry says so rather than "malformed".
    const Json* part = json_fields::find(json, "signed");
    if (part == nullptr || !part->is_object())
      fail(LogFault::malformed, seq, "\"signed\" missing or not an object");
    const Json* version = json_fields::find(*part, "v");
    if (version == nullptr || !version->is_number_integer() || version->get<std::int64_t>() != 1)
      fail(LogFault::unknown_version, seq, "unknown version (only \"v\": 1 is known)");
    entry.alg = json_fields::require_string(json, "alg", where);
    if (entry.alg != "ES256" && entry.alg != "PS256")
      fail(LogFault::malformed, seq, "unknown \"alg\" (ES256 or PS256)");
    SignedStatement statement = read_signed_statement(json, entry.alg, where);
    entry.public_key = std::move(statement.public_key_spki_der);
    entry.signature = std::move(statement.signature);
    entry.statement = std::move(statement.statement);
  } catch (const FormatError& error) {
    fail(LogFault::malformed, seq, error.what());
  }
  // One entry, one byte string: its hash is then the entry's only name.
  if (envelope_bytes(entry.alg, entry.public_key, entry.statement, entry.signature) != text)
    fail(LogFault::malformed, seq, "not in canonical form");
  entry.hash = AccountLog::entry_hash(text);
  return entry;
}

// --- fields of "signed"

const Json& member(const Json& statement, std::string_view name, std::uint64_t seq) {
  const Json* value = json_fields::find(statement, name);
  if (value == nullptr) fail(LogFault::malformed, seq, in_quotes(name) + " missing");
  return *value;
}

std::string text_field(const Json& statement, std::string_view name, std::uint64_t seq) {
  const Json& value = member(statement, name, seq);
  if (!value.is_string()) fail(LogFault::malformed, seq, in_quotes(name) + " is not a string");
  return value.get<std::string>();
}

bool is_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string id_field(const Json& statement, std::string_view name, std::uint64_t seq) {
  std::string id = text_field(statement, name, seq);
  if (!is_id(id))
    fail(LogFault::malformed, seq, in_quotes(name) + " is not 1-64 of [A-Za-z0-9._-]");
  return id;
}

std::uint64_t count_field(const Json& statement, std::string_view name, std::uint64_t seq) {
  const Json& value = member(statement, name, seq);
  if (!value.is_number_unsigned())
    fail(LogFault::malformed, seq, in_quotes(name) + " is not a whole number >= 0");
  return value.get<std::uint64_t>();
}

enum class KeyType { ec_p256, rsa_slot, rsa_recovery };

// A public key: exactly one SPKI DER, of the type its role needs.
bool key_is(ByteView spki_der, KeyType type) {
  const unsigned char* der = spki_der.data();
  openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki_der.size())));
  if (!key || der != spki_der.data() + spki_der.size()) {
    ERR_clear_error();
    return false;
  }
  if (type == KeyType::ec_p256) return openssl::is_ec_p256(key.get());
  const int bits = type == KeyType::rsa_slot ? kMinSlotKeyBits : kMinRecoveryKeyBits;
  return EVP_PKEY_is_a(key.get(), "RSA") == 1 && EVP_PKEY_get_bits(key.get()) >= bits;
}

Bytes key_field(const Json& statement, std::string_view name, KeyType type, std::uint64_t seq) {
  Bytes key;
  try {
    key = base64_decode(text_field(statement, name, seq), name);
  } catch (const FormatError&) {
    fail(LogFault::malformed, seq, in_quotes(name) + " is not base64");
  }
  if (!key_is(key, type)) {
    const char* what = type == KeyType::ec_p256    ? "an EC P-256 public key"
                       : type == KeyType::rsa_slot ? "an RSA public key of at least 2048 bits"
                                                   : "an RSA public key of at least 3072 bits";
    fail(LogFault::malformed, seq, in_quotes(name) + " is not " + what);
  }
  return key;
}

void only_members(const Json& statement, std::initializer_list<std::string_view> kind_members,
                  std::uint64_t seq) {
  static constexpr std::string_view common[] = {"v", "seq", "prev", "kind", "time"};
  for (const auto& item : statement.items()) {
    const std::string& name = item.key();
    const auto is = [&name](std::string_view allowed) { return name == allowed; };
    if (std::none_of(std::begin(common), std::end(common), is) &&
        std::none_of(kind_members.begin(), kind_members.end(), is)) {
      fail(LogFault::malformed, seq, "unknown " + member_name(name));
    }
  }
}

// --- the state

bool id_taken(const AccountState& state, std::string_view device_id) {
  return device_id == kRecovery || state.devices.contains(std::string(device_id)) ||
         state.revoked.contains(std::string(device_id));
}

bool identity_key_taken(const AccountState& state, ByteView key) {
  const auto same = [key](const auto& pair) {
    return std::ranges::equal(pair.second.identity_key, key);
  };
  return std::ranges::any_of(state.devices, same) || std::ranges::any_of(state.revoked, same);
}

void add_slot(AccountState& state, AccountSlot slot, std::uint64_t seq) {
  if (state.slots.contains(slot.id))
    fail(LogFault::invalid_change, seq, "slot " + in_quotes(slot.id) + " already exists");
  slot.vk_generation = state.vk_generation;
  slot.added_at = seq;
  state.slots.emplace(slot.id, std::move(slot));
}

// Who signed: the device id, or "recovery". Checks the key is allowed to sign at this
// point, then the signature.
std::string check_signer(const AccountState& state, const Entry& entry, std::uint64_t seq) {
  std::string signer;
  if (entry.alg == "ES256") {
    if (const AccountDevice* device = state.device_with_identity_key(entry.public_key)) {
      signer = device->id;
    } else {
      for (const auto& [id, revoked] : state.revoked) {
        if (std::ranges::equal(revoked.identity_key, entry.public_key)) {
          fail(LogFault::revoked_signer, seq,
               "signed by device " + in_quotes(id) + ", revoked at entry " +
                   std::to_string(*revoked.revoked_at));
        }
      }
      fail(LogFault::unknown_signer, seq, "signed by a key that is no enrolled device's");
    }
    if (!verify_es256(entry.public_key, bytes_of(canonical_bytes(entry.statement)),
                      entry.signature)) {
      fail(LogFault::bad_signature, seq,
           "the signature of device " + in_quotes(signer) + " is invalid");
    }
    return signer;
  }
  const bool recovery_slot = std::ranges::any_of(state.slots, [&entry](const auto& pair) {
    return pair.second.slot_for == SlotFor::recovery &&
           std::ranges::equal(pair.second.key, entry.public_key);
  });
  if (!recovery_slot)
    fail(LogFault::unknown_signer, seq, "signed by an RSA key that is no recovery slot's");
  if (!verify_ps256(entry.public_key, bytes_of(canonical_bytes(entry.statement)), entry.signature))
    fail(LogFault::bad_signature, seq, "the signature of the recovery key is invalid");
  return std::string(kRecovery);
}

void apply_genesis(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const Json& s = entry.statement;
  only_members(s, {"device_id", "identity_key", "slot_key", "recovery_key"}, seq);
  if (s.contains("prev")) fail(LogFault::malformed, seq, "a genesis has no \"prev\"");
  AccountDevice device;
  device.id = id_field(s, "device_id", seq);
  if (device.id == kRecovery)
    fail(LogFault::invalid_change, seq, "the device id \"recovery\" is reserved");
  device.identity_key = key_field(s, "identity_key", KeyType::ec_p256, seq);
  device.slot_key = key_field(s, "slot_key", KeyType::rsa_slot, seq);
  Bytes recovery_key = key_field(s, "recovery_key", KeyType::rsa_recovery, seq);
  if (entry.alg != "ES256" || entry.public_key != device.identity_key)
    fail(LogFault::wrong_signer, seq, "a genesis must be signed by the device it enrols");
  if (!verify_es256(entry.public_key, bytes_of(canonical_bytes(s)), entry.signature))
    fail(LogFault::bad_signature, seq,
         "the signature of device " + in_quotes(device.id) + " is invalid");
  state.account_id = entry.hash;
  state.vk_generation = 1;
  add_slot(state, {device.id, SlotFor::device, device.slot_key, device.id, 0, 0}, seq);
  add_slot(state, {std::string(kRecovery), SlotFor::recovery, std::move(recovery_key), {}, 0, 0},
           seq);
  state.devices.emplace(device.id, std::move(device));
}

void apply_device_add(AccountState& state, const Entry& entry, const std::string& signer,
                      std::uint64_t seq) {
  const Json& s = entry.statement;
  AccountDevice device;
  device.id = id_field(s, "device_id", seq);
  device.identity_key = key_field(s, "identity_key", KeyType::ec_p256, seq);
  device.slot_key = key_field(s, "slot_key", KeyType::rsa_slot, seq);
  device.approved_by = text_field(s, "approved_by", seq);
  device.added_at = seq;
  if (device.approved_by != signer) {
    fail(LogFault::wrong_signer, seq,
         "approved_by names " + in_quotes(device.approved_by) + " but " + in_quotes(signer) +
             " signed it");
  }
  if (id_taken(state, device.id))
    fail(LogFault::invalid_change, seq, "device id " + in_quotes(device.id) + " is taken");
  if (identity_key_taken(state, device.identity_key)) {
    fail(LogFault::invalid_change, seq,
         "the identity key of " + in_quotes(device.id) + " is another device's");
  }
  add_slot(state, {device.id, SlotFor::device, device.slot_key, device.id, 0, 0}, seq);
  state.devices.emplace(device.id, std::move(device));
}

void apply_device_revoke(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const std::string id = id_field(entry.statement, "device_id", seq);
  auto device = state.devices.find(id);
  if (device == state.devices.end()) {
    fail(LogFault::invalid_change, seq,
         state.revoked.contains(id) ? "device " + in_quotes(id) + " is already revoked"
                                    : "no enrolled device " + in_quotes(id));
  }
  device->second.revoked_at = seq;
  state.revoked.insert(state.devices.extract(device));
  std::erase_if(state.slots, [&id](const auto& pair) { return pair.second.device_id == id; });
}

void apply_slot_add(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const Json& s = entry.statement;
  AccountSlot slot;
  slot.id = id_field(s, "slot_id", seq);
  const std::string slot_for = text_field(s, "slot_for", seq);
  if (slot_for == "device") {
    slot.slot_for = SlotFor::device;
    slot.key = key_field(s, "slot_key", KeyType::rsa_slot, seq);
    slot.device_id = id_field(s, "device_id", seq);
    auto device = state.devices.find(slot.device_id);
    if (device == state.devices.end())
      fail(LogFault::invalid_change, seq, "no enrolled device " + in_quotes(slot.device_id));
    if (device->second.slot_key != slot.key) {
      fail(LogFault::invalid_change, seq,
           "slot_key is not the slot key device " + in_quotes(slot.device_id) + " enrolled with");
    }
  } else if (slot_for == "recovery") {
    slot.slot_for = SlotFor::recovery;
    slot.key = key_field(s, "slot_key", KeyType::rsa_recovery, seq);
    if (s.contains("device_id"))
      fail(LogFault::malformed, seq, "a recovery slot names no \"device_id\"");
  } else {
    fail(LogFault::malformed, seq, "\"slot_for\" is neither \"device\" nor \"recovery\"");
  }
  add_slot(state, std::move(slot), seq);
}

void apply_slot_remove(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const std::string id = id_field(entry.statement, "slot_id", seq);
  if (state.slots.erase(id) == 0) fail(LogFault::invalid_change, seq, "no slot " + in_quotes(id));
}

void apply_key_rotate(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const Json& s = entry.statement;
  const std::uint64_t generation = count_field(s, "vk_generation", seq);
  if (generation != state.vk_generation + 1) {
    fail(LogFault::invalid_change, seq,
         "vk_generation " + std::to_string(generation) + " does not follow " +
             std::to_string(state.vk_generation));
  }
  const Json& slots = member(s, "slots", seq);
  if (!slots.is_array() || slots.empty())
    fail(LogFault::malformed, seq, "\"slots\" is not a non-empty list");
  std::set<std::string> named;
  for (const Json& slot : slots) {
    if (!slot.is_string() || !is_id(slot.get<std::string>()))
      fail(LogFault::malformed, seq, "\"slots\" holds something other than a slot id");
    const std::string& id = slot.get_ref<const std::string&>();
    if (!named.insert(id).second)
      fail(LogFault::invalid_change, seq, "slot " + in_quotes(id) + " named twice");
    if (!state.slots.contains(id)) fail(LogFault::invalid_change, seq, "no slot " + in_quotes(id));
  }
  for (const std::string& id : named) state.slots.at(id).vk_generation = generation;
  state.vk_generation = generation;
}

// One entry onto state, which it leaves half-changed if it throws (callers work on a copy
// when that matters).
void apply(AccountState& state, const Entry& entry, std::uint64_t seq) {
  const Json& s = entry.statement;
  const std::string kind = text_field(s, "kind", seq);
  const bool known = kind == kind::genesis || kind == kind::device_add ||
                     kind == kind::device_revoke || kind == kind::slot_add ||
                     kind == kind::slot_remove || kind == kind::key_rotate;
  if (!known) fail(LogFault::unknown_kind, seq, "unknown kind");
  if (seq == 0 && kind != kind::genesis)
    fail(LogFault::wrong_genesis, seq, "the first entry is a " + kind + ", not a genesis");
  if (count_field(s, "seq", seq) != seq) {
    fail(LogFault::out_of_order, seq,
         "carries seq " + std::to_string(s.at("seq").get<std::uint64_t>()) +
             ": entries are missing, repeated or reordered");
  }
  if (!member(s, "time", seq).is_number_integer())
    fail(LogFault::malformed, seq, "\"time\" is not a whole number");
  if (seq == 0) {
    apply_genesis(state, entry, seq);
  } else {
    if (kind == kind::genesis) fail(LogFault::invalid_change, seq, "a second genesis");
    if (text_field(s, "prev", seq) != state.head_hash)
      fail(LogFault::broken_link, seq, "\"prev\" is not the hash of the entry before");
    if (kind == kind::device_add) {
      only_members(s, {"device_id", "identity_key", "slot_key", "approved_by"}, seq);
    } else if (kind == kind::device_revoke) {
      only_members(s, {"device_id"}, seq);
    } else if (kind == kind::slot_add) {
      only_members(s, {"slot_id", "slot_key", "slot_for", "device_id"}, seq);
    } else if (kind == kind::slot_remove) {
      only_members(s, {"slot_id"}, seq);
    } else {
      only_members(s, {"vk_generation", "slots"}, seq);
    }
    const std::string signer = check_signer(state, entry, seq);
    if (kind == kind::device_add) {
      apply_device_add(state, entry, signer, seq);
    } else if (kind == kind::device_revoke) {
      apply_device_revoke(state, entry, seq);
    } else if (kind == kind::slot_add) {
      apply_slot_add(state, entry, seq);
    } else if (kind == kind::slot_remove) {
      apply_slot_remove(state, entry, seq);
    } else {
      apply_key_rotate(state, entry, seq);
    }
  }
  state.head_hash = entry.hash;
  state.length = seq + 1;
}

// --- writing

Json change_fields(const AccountChange& change, const std::string& approver) {
  struct Fields {
    const std::string& approver;
    Json operator()(const DeviceAdd& add) const {
      return {{"kind", kind::device_add},
              {"device_id", add.device_id},
              {"identity_key", base64_encode(add.identity_key)},
              {"slot_key", base64_encode(add.slot_key)},
              {"approved_by", approver}};
    }
    Json operator()(const DeviceRevoke& revoke) const {
      return {{"kind", kind::device_revoke}, {"device_id", revoke.device_id}};
    }
    Json operator()(const SlotAdd& add) const {
      Json fields = {{"kind", kind::slot_add},
                     {"slot_id", add.slot_id},
                     {"slot_key", base64_encode(add.slot_key)},
                     {"slot_for", add.slot_for == SlotFor::device ? "device" : "recovery"}};
      if (add.slot_for == SlotFor::device) fields["device_id"] = add.device_id;
      return fields;
    }
    Json operator()(const SlotRemove& remove) const {
      return {{"kind", kind::slot_remove}, {"slot_id", remove.slot_id}};
    }
    Json operator()(const KeyRotate& rotate) const {
      return {{"kind", kind::key_rotate},
              {"vk_generation", rotate.vk_generation},
              {"slots", rotate.slots}};
    }
  };
  return std::visit(Fields{approver}, change);
}

Json next_statement(const AccountState& state, const AccountChange& change,
                    const std::string& approver, std::int64_t time) {
  if (state.length == 0)
    throw AccountLogError(LogFault::wrong_genesis, std::nullopt, "no genesis to append to");
  Json statement = change_fields(change, approver);
  statement["v"] = 1;
  statement["seq"] = state.length;
  statement["prev"] = state.head_hash;
  statement["time"] = time;
  return statement;
}

// Checks the new entry as a reader will, so a writer never publishes one it would refuse.
std::string commit(AccountState& state, std::string entry) {
  AccountState next = state;
  apply(next, parse_entry(entry, state.length), state.length);
  state = std::move(next);
  return entry;
}

}  // namespace

const char* to_string(LogFault fault) noexcept {
  switch (fault) {
    case LogFault::malformed:
      return "malformed";
    case LogFault::unknown_version:
      return "unknown_version";
    case LogFault::unknown_kind:
      return "unknown_kind";
    case LogFault::wrong_genesis:
      return "wrong_genesis";
    case LogFault::broken_link:
      return "broken_link";
    case LogFault::out_of_order:
      return "out_of_order";
    case LogFault::unknown_signer:
      return "unknown_signer";
    case LogFault::revoked_signer:
      return "revoked_signer";
    case LogFault::bad_signature:
      return "bad_signature";
    case LogFault::wrong_signer:
      return "wrong_signer";
    case LogFault::invalid_change:
      return "invalid_change";
    case LogFault::shortened:
      return "shortened";
    case LogFault::forked:
      return "forked";
  }
  return "unknown";
}

AccountLogError::AccountLogError(LogFault fault, std::optional<std::uint64_t> seq,
                                 const std::string& reason)
    : std::runtime_error((seq ? "account log entry " + std::to_string(*seq) + ": "
                              : std::string("account log: ")) +
                         reason),
      fault_(fault),
      seq_(seq) {}

const AccountDevice* AccountState::device_with_identity_key(ByteView spki_der) const {
  for (const auto& [id, device] : devices) {
    if (std::ranges::equal(device.identity_key, spki_der)) return &device;
  }
  return nullptr;
}

AccountState AccountLog::verify(std::span<const std::string> entries,
                                std::string_view expected_account_id, const KnownHead* seen) {
  if (entries.empty())
    throw AccountLogError(LogFault::wrong_genesis, std::nullopt, "the log is empty");
  if (entry_hash(entries[0]) != expected_account_id) {
    fail(LogFault::wrong_genesis, 0,
         "the genesis hash is not the account id: this log is another account's, or altered");
  }
  AccountState state;
  std::string hash_at_seen;
  for (std::uint64_t seq = 0; seq < entries.size(); ++seq) {
    apply(state, parse_entry(entries[seq], seq), seq);
    if (seen != nullptr && seq == seen->seq) hash_at_seen = state.head_hash;
  }
  if (seen != nullptr) {
    if (seen->seq >= state.length) {
      throw AccountLogError(LogFault::shortened, std::nullopt,
                            "the log has " + std::to_string(state.length) +
                                " entries, fewer than the " + std::to_string(seen->seq + 1) +
                                " this device has already seen: entries were dropped");
    }
    if (hash_at_seen != seen->hash) {
      fail(LogFault::forked, seen->seq,
           "not the entry this device saw there: the log was forked or rewritten");
    }
  }
  return state;
}

void AccountLog::extend(AccountState& state, std::span<const std::string> entries) {
  if (state.length == 0)
    throw AccountLogError(LogFault::wrong_genesis, std::nullopt, "no verified genesis to extend");
  AccountState next = state;
  for (const std::string& entry : entries)
    apply(next, parse_entry(entry, next.length), next.length);
  state = std::move(next);
}

std::string AccountLog::genesis(const AccountGenesis& genesis, const SigningKey& device_key,
                                std::int64_t time) {
  const Json statement = {{"v", 1},
                          {"seq", 0},
                          {"kind", kind::genesis},
                          {"time", time},
                          {"device_id", genesis.device_id},
                          {"identity_key", base64_encode(device_key.public_key_spki_der())},
                          {"slot_key", base64_encode(genesis.slot_key)},
                          {"recovery_key", base64_encode(genesis.recovery_key)}};
  AccountState state;
  return commit(state, sign_es256(statement, device_key));
}

std::string AccountLog::append(AccountState& state, const AccountChange& change,
                               const SigningKey& device_key, std::int64_t time) {
  const AccountDevice* signer = state.device_with_identity_key(device_key.public_key_spki_der());
  if (signer == nullptr) {
    throw AccountLogError(LogFault::unknown_signer, state.length,
                          "the signing key is no enrolled device's");
  }
  return commit(state, sign_es256(next_statement(state, change, signer->id, time), device_key));
}

std::string AccountLog::append(AccountState& state, const AccountChange& change,
                               const PssSigningKey& recovery_key, std::int64_t time) {
  return commit(
      state, sign_ps256(next_statement(state, change, std::string(kRecovery), time), recovery_key));
}

std::string AccountLog::sign_es256(const nlohmann::json& statement, const SigningKey& key) {
  const Bytes signature = key.sign_es256(bytes_of(canonical_bytes(statement)));
  return envelope_bytes("ES256", key.public_key_spki_der(), statement, signature);
}

std::string AccountLog::sign_ps256(const nlohmann::json& statement, const PssSigningKey& key) {
  const Bytes signature = key.sign_pss_sha256(bytes_of(canonical_bytes(statement)));
  return envelope_bytes("PS256", key.public_key_spki_der(), statement, signature);
}

std::string AccountLog::entry_hash(std::string_view entry) {
  return sha256_hex(bytes_of(entry));
}

bool is_device_id(std::string_view id) {
  return is_id(id);
}

bool is_identity_key(ByteView spki_der) {
  return key_is(spki_der, KeyType::ec_p256);
}

bool is_slot_key(ByteView spki_der) {
  return key_is(spki_der, KeyType::rsa_slot);
}

}  // namespace idvault::vault
