// The account log of a cloud account (design.md, "The cloud"): the append-only,
// hash-chained, signed statements that say which devices and key slots belong to the
// account. The server stores it and cannot write it; every client checks the whole chain
// and trusts no device or slot the chain does not prove.
//
// An entry is a signed statement (vault/signed/signed_statement.h), kept and sent as its
// canonical bytes (keys sorted, no spaces, ASCII; base64 as base64_encode writes it):
//   {"alg": "ES256" | "PS256", "public_key": B64 SPKI, "signature": B64,
//    "signed": {"v": 1, "seq": N, "prev": HASH, "kind": KIND, "time": Unix seconds, ...}}
// Its hash is the lowercase hex SHA-256 of those bytes. seq counts from 0; "prev" is the
// hash of entry seq-1 and is absent from the genesis. The account id is the genesis hash.
//
// Kinds and their fields (keys are B64 SPKI DER; ids are 1-64 of [A-Za-z0-9._-]):
//   genesis        "device_id", "identity_key" (EC P-256), "slot_key" (RSA >= 2048),
//                  "recovery_key" (RSA >= 3072). Signed by that identity key. Starts VK
//                  generation 1 in two slots: slot "<device_id>" (the device's) and slot
//                  "recovery" (the recovery key's).
//   device-add     "device_id", "identity_key", "slot_key", "approved_by" (the signing
//                  device's id, or "recovery" when the recovery key signs). Also adds the
//                  slot "<device_id>" for slot_key, holding the current VK generation.
//   device-revoke  "device_id". Removes the device's slots; its id and identity key stay
//                  taken, and nothing it signs after this entry is accepted.
//   slot-add       "slot_id", "slot_key", "slot_for": "device" | "recovery", and for a
//                  device slot "device_id", an enrolled device whose slot_key it is. Holds
//                  the current VK generation.
//   slot-remove    "slot_id".
//   key-rotate     "vk_generation" (the current one plus 1), "slots" (the ids of the slots
//                  the new VK is sealed to, at least one).
// Every entry after the genesis is signed ES256 by the identity key of a device enrolled
// and not revoked at that point, or PS256 (RSASSA-PSS, SHA-256, 32-byte salt) by the key
// of a current recovery slot. Members not listed are refused: a new field is a new "v".
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vault/keys/keys.h"

namespace idvault::vault {

// Why a log was refused.
enum class LogFault {
  malformed,        // not an entry: JSON, envelope, a field's type or form, not canonical
  unknown_version,  // "v" other than 1
  unknown_kind,     // a kind this reader does not know
  wrong_genesis,    // empty log, first entry not a genesis, or its hash not the account id
  broken_link,      // "prev" is not the hash of the entry before
  out_of_order,     // "seq" is not the entry's place: a gap, a repeat or a reordering
  unknown_signer,   // signed by a key that is no enrolled device and no recovery slot
  revoked_signer,   // signed by a device revoked at an earlier entry
  bad_signature,    // the signature does not verify under the key it names
  wrong_signer,     // a valid signature, but not by whom the entry requires
  invalid_change,   // a change the state does not allow (an unknown device, a taken id...)
  shortened,        // fewer entries than a head this client has already seen
  forked,           // the seen head is not in this chain
};

[[nodiscard]] const char* to_string(LogFault fault) noexcept;

// The one error of this module: which entry (none for a whole-log fault) and why, in a
// message a person can act on ("account log entry 3: signed by revoked device "laptop"").
class AccountLogError : public std::runtime_error {
 public:
  AccountLogError(LogFault fault, std::optional<std::uint64_t> seq, const std::string& reason);
  [[nodiscard]] LogFault fault() const noexcept { return fault_; }
  [[nodiscard]] std::optional<std::uint64_t> seq() const noexcept { return seq_; }

 private:
  LogFault fault_;
  std::optional<std::uint64_t> seq_;
};

// The head a client stored after it last verified the log: a later log must contain it.
struct KnownHead {
  std::uint64_t seq = 0;
  std::string hash;
};

enum class SlotFor { device, recovery };

struct AccountDevice {
  std::string id;
  Bytes identity_key;  // EC P-256 SPKI DER
  Bytes slot_key;      // RSA SPKI DER
  std::uint64_t added_at = 0;
  std::string approved_by;  // a device id, "recovery", or empty for the genesis device
  std::optional<std::uint64_t> revoked_at;
};

struct AccountSlot {
  std::string id;
  SlotFor slot_for = SlotFor::device;
  Bytes key;                        // RSA SPKI DER
  std::string device_id;            // for a device slot
  std::uint64_t vk_generation = 0;  // the VK generation sealed in it
  std::uint64_t added_at = 0;
};

// What a verified log proves.
struct AccountState {
  std::string account_id;                        // the genesis hash
  std::map<std::string, AccountDevice> devices;  // enrolled
  std::map<std::string, AccountDevice> revoked;
  std::map<std::string, AccountSlot> slots;
  std::uint64_t vk_generation = 0;
  std::string head_hash;
  std::uint64_t length = 0;  // entries; the next entry's seq

  [[nodiscard]] KnownHead head() const { return {length - 1, head_hash}; }
  // The enrolled device with this identity key, or nullptr.
  [[nodiscard]] const AccountDevice* device_with_identity_key(ByteView spki_der) const;
};

// The changes a log can record after its genesis (see the kinds above).
struct DeviceAdd {
  std::string device_id;
  Bytes identity_key;
  Bytes slot_key;
};
struct DeviceRevoke {
  std::string device_id;
};
struct SlotAdd {
  std::string slot_id;
  Bytes slot_key;
  SlotFor slot_for = SlotFor::device;
  std::string device_id;  // for a device slot
};
struct SlotRemove {
  std::string slot_id;
};
struct KeyRotate {
  std::uint64_t vk_generation = 0;
  std::vector<std::string> slots;
};
using AccountChange = std::variant<DeviceAdd, DeviceRevoke, SlotAdd, SlotRemove, KeyRotate>;

struct AccountGenesis {
  std::string device_id;
  Bytes slot_key;
  Bytes recovery_key;
};

class AccountLog {
 public:
  // Checks every entry in order and returns the state the log proves; throws
  // AccountLogError for the first fault. seen: the head this client stored last time
  // (nullptr on first contact), which the log must still contain.
  [[nodiscard]] static AccountState verify(std::span<const std::string> entries,
                                           std::string_view expected_account_id,
                                           const KnownHead* seen);
  // Checks entries that continue a state verified before (what an incremental pull
  // returns: the entries after state's head) and moves state to their end. Throws
  // AccountLogError as verify does; state is then unchanged.
  static void extend(AccountState& state, std::span<const std::string> entries);

  // The genesis entry of a new account, signed by its first device's identity key.
  [[nodiscard]] static std::string genesis(const AccountGenesis& genesis,
                                           const SigningKey& device_key, std::int64_t time);
  // The next entry after state, signed by an enrolled device or the recovery key. Throws
  // AccountLogError, as verify would, for a change state does not allow or a signer it
  // does not accept; state is then unchanged. On success state is the state after it.
  [[nodiscard]] static std::string append(AccountState& state, const AccountChange& change,
                                          const SigningKey& device_key, std::int64_t time);
  [[nodiscard]] static std::string append(AccountState& state, const AccountChange& change,
                                          const PssSigningKey& recovery_key, std::int64_t time);

  // The bare signers: an entry with exactly this "signed" object, no check made. For
  // tests that forge entries and for tools; not how a client writes the log.
  [[nodiscard]] static std::string sign_es256(const nlohmann::json& statement,
                                              const SigningKey& key);
  [[nodiscard]] static std::string sign_ps256(const nlohmann::json& statement,
                                              const PssSigningKey& key);

  // The hash of an entry (its id in "prev", and for the genesis the account id).
  [[nodiscard]] static std::string entry_hash(std::string_view entry);
};

// The forms the log demands of a device, for whoever checks them before any entry names
// the device (the server, for a join request): an id of 1-64 of [A-Za-z0-9._-], an
// identity key that is one EC P-256 SPKI DER, a slot key one RSA SPKI DER of >= 2048 bits.
[[nodiscard]] bool is_device_id(std::string_view id);
[[nodiscard]] bool is_identity_key(ByteView spki_der);
[[nodiscard]] bool is_slot_key(ByteView spki_der);

}  // namespace idvault::vault
