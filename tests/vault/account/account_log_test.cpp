// The account log (vault/account/account_log.h): a chain of every kind verifies into the
// state it records, and each way a server could lie (another genesis, a dropped, moved or
// forged entry, a device it added itself, an old or forked head) is refused with its
// reason. Software keys and RSA keys made once at build time, so each test takes milliseconds, but
// the last two.
#include "vault/account/account_log.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "tests/support/account_log_keys.h"
#include "vault/account/vault_key_check.h"
#include "vault/keys/recovery_key.h"
#include "vault/keys/software_keys.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kTime = 1'700'000'000;

Bytes spki_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key, &der);
  EXPECT_GT(size, 0);
  openssl::Buffer owned(der);
  return {der, der + size};
}

// An RSA key signing PS256 as a recovery key does (RecoveryOpener, tested below).
class TestPssKey final : public PssSigningKey {
 public:
  explicit TestPssKey(std::string_view pem) {
    openssl::Bio bio = openssl::make_memory_bio(pem.data(), pem.size());
    key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    EXPECT_TRUE(key_);
  }
  [[nodiscard]] Bytes sign_pss_sha256(ByteView message) const override {
    return sign_ps256(key_.get(), message);
  }
  [[nodiscard]] Bytes public_key_spki_der() const override { return spki_of(key_.get()); }

 private:
  openssl::PKey key_;
};

// RSA keys made at build time by openssl genpkey into IDVAULT_ACCOUNT_LOG_TEST_KEYS
// (tests/vault/CMakeLists.txt): an RSA-3072 key in each of this test's processes would
// cost more than all the checks, and keys are never committed.
std::string test_key_pem(const std::string& name) {
  return test::account_log_key_pem(IDVAULT_ACCOUNT_LOG_TEST_KEYS, name);
}

// The SPKI DER of a slot key: the public half of a build-time RSA-2048 key.
Bytes slot_key(const std::string& name) {
  const std::string pem = test_key_pem(name);
  openssl::Bio bio = openssl::make_memory_bio(pem.data(), pem.size());
  openssl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(key) << name;
  return spki_of(key.get());
}

struct Keys {
  SoftwareSigningKey desk = SoftwareSigningKey::generate();
  SoftwareSigningKey laptop = SoftwareSigningKey::generate();
  SoftwareSigningKey drawer = SoftwareSigningKey::generate();
  SoftwareSigningKey stranger = SoftwareSigningKey::generate();
  Bytes desk_slot = slot_key("desk-slot");
  Bytes laptop_slot = slot_key("laptop-slot");
  Bytes drawer_slot = slot_key("drawer-slot");
  TestPssKey recovery{test_key_pem("recovery")};
  TestPssKey stranger_rsa{test_key_pem("stranger-rsa")};
};

void expect_fault(const std::function<void()>& run, LogFault fault,
                  std::optional<std::uint64_t> seq, std::string_view says = {}) {
  try {
    run();
    ADD_FAILURE() << "accepted; expected " << to_string(fault);
  } catch (const AccountLogError& error) {
    EXPECT_EQ(to_string(error.fault()), std::string(to_string(fault))) << error.what();
    EXPECT_EQ(error.seq(), seq) << error.what();
    if (!says.empty()) {
      EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
    }
  }
}

// A valid chain of every kind, built once:
//   0 genesis "desk"            5 device-revoke "laptop" (by desk)
//   1 device-add "laptop" (desk) 6 slot-remove "recovery-2" (by drawer)
//   2 slot-add "recovery-2" (laptop) 7 key-rotate 3 (by the recovery key)
//   3 key-rotate 2 (by desk)    8 slot-add "desk-2" for desk (by drawer)
//   4 device-add "drawer" (by the recovery key)
class AccountLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = std::make_unique<Keys>();

    entries_ = std::make_unique<std::vector<std::string>>();
    states_ = std::make_unique<std::vector<AccountState>>();
    AccountState state;
    const auto keep = [&](std::string entry) {
      entries_->push_back(std::move(entry));
      states_->push_back(state);
    };
    entries_->push_back(AccountLog::genesis(
        {"desk", keys_->desk_slot, keys_->recovery.public_key_spki_der()}, keys_->desk, kTime));
    state = AccountLog::verify(*entries_, AccountLog::entry_hash(entries_->front()), nullptr);
    states_->push_back(state);
    const std::int64_t t = kTime;
    keep(AccountLog::append(
        state, DeviceAdd{"laptop", keys_->laptop.public_key_spki_der(), keys_->laptop_slot},
        keys_->desk, t + 1));
    keep(AccountLog::append(
        state, SlotAdd{"recovery-2", keys_->recovery.public_key_spki_der(), SlotFor::recovery, ""},
        keys_->laptop, t + 2));
    keep(AccountLog::append(state, KeyRotate{2, {"desk", "laptop", "recovery"}}, keys_->desk,
                            t + 3));
    keep(AccountLog::append(
        state, DeviceAdd{"drawer", keys_->drawer.public_key_spki_der(), keys_->drawer_slot},
        keys_->recovery, t + 4));
    keep(AccountLog::append(state, DeviceRevoke{"laptop"}, keys_->desk, t + 5));
    keep(AccountLog::append(state, SlotRemove{"recovery-2"}, keys_->drawer, t + 6));
    keep(AccountLog::append(state, KeyRotate{3, {"desk", "drawer", "recovery"}}, keys_->recovery,
                            t + 7));
    keep(AccountLog::append(state, SlotAdd{"desk-2", keys_->desk_slot, SlotFor::device, "desk"},
                            keys_->drawer, t + 8));
  }
  static void TearDownTestSuite() {
    keys_.reset();
    entries_.reset();
    states_.reset();
  }

  static const Keys& keys() { return *keys_; }
  static const std::vector<std::string>& entries() { return *entries_; }
  static std::string account_id() { return AccountLog::entry_hash(entries().front()); }
  // The state after entries [0, seq].
  static const AccountState& state_at(std::uint64_t seq) { return states_->at(seq); }

  static std::vector<std::string> prefix(std::uint64_t length) {
    return {entries().begin(), entries().begin() + static_cast<std::ptrdiff_t>(length)};
  }
  // A "signed" object that follows state, with the given kind fields.
  static Json next(const AccountState& state, Json fields) {
    fields["v"] = 1;
    fields["seq"] = state.length;
    fields["prev"] = state.head_hash;
    fields["time"] = kTime + 100;
    return fields;
  }
  // entries [0, length) then extra.
  static std::vector<std::string> with(std::uint64_t length, std::string extra) {
    std::vector<std::string> log = prefix(length);
    log.push_back(std::move(extra));
    return log;
  }
  static void expect_refused(const std::vector<std::string>& log, LogFault fault,
                             std::optional<std::uint64_t> seq, std::string_view says = {}) {
    expect_fault([&] { (void)AccountLog::verify(log, account_id(), nullptr); }, fault, seq, says);
  }

 private:
  static inline std::unique_ptr<Keys> keys_;
  static inline std::unique_ptr<std::vector<std::string>> entries_;
  static inline std::unique_ptr<std::vector<AccountState>> states_;
};

TEST_F(AccountLogTest, AChainOfEveryKindVerifiesIntoTheStateItRecords) {
  const AccountState state = AccountLog::verify(entries(), account_id(), nullptr);
  EXPECT_EQ(state.account_id, account_id());
  EXPECT_EQ(state.length, 9U);
  EXPECT_EQ(state.head_hash, AccountLog::entry_hash(entries().back()));
  EXPECT_EQ(state.vk_generation, 3U);

  ASSERT_EQ(state.devices.size(), 2U);
  const AccountDevice& desk = state.devices.at("desk");
  EXPECT_EQ(desk.identity_key, keys().desk.public_key_spki_der());
  EXPECT_EQ(desk.slot_key, keys().desk_slot);
  EXPECT_EQ(desk.added_at, 0U);
  EXPECT_EQ(desk.approved_by, "");
  const AccountDevice& drawer = state.devices.at("drawer");
  EXPECT_EQ(drawer.identity_key, keys().drawer.public_key_spki_der());
  EXPECT_EQ(drawer.slot_key, keys().drawer_slot);
  EXPECT_EQ(drawer.added_at, 4U);
  EXPECT_EQ(drawer.approved_by, "recovery");
  ASSERT_EQ(state.revoked.size(), 1U);
  EXPECT_EQ(state.revoked.at("laptop").approved_by, "desk");
  EXPECT_EQ(state.revoked.at("laptop").revoked_at, 5U);
  EXPECT_EQ(state.device_with_identity_key(keys().laptop.public_key_spki_der()), nullptr);
  EXPECT_EQ(state.device_with_identity_key(keys().desk.public_key_spki_der()), &desk);

  // The laptop's slot went with it; recovery-2 was removed; desk-2 came last.
  ASSERT_EQ(state.slots.size(), 4U);
  for (const char* id : {"desk", "desk-2", "drawer", "recovery"})
    EXPECT_EQ(state.slots.at(id).vk_generation, 3U) << id;
  EXPECT_EQ(state.slots.at("recovery").slot_for, SlotFor::recovery);
  EXPECT_EQ(state.slots.at("recovery").key, keys().recovery.public_key_spki_der());
  EXPECT_EQ(state.slots.at("desk-2").slot_for, SlotFor::device);
  EXPECT_EQ(state.slots.at("desk-2").device_id, "desk");
  EXPECT_EQ(state.slots.at("desk-2").key, keys().desk_slot);
  EXPECT_EQ(state.slots.at("desk-2").added_at, 8U);

  // Mid-way: after the first rotation the recovery-2 slot, added at generation 1 and not
  // named in it, still holds generation 1.
  const AccountState at3 = AccountLog::verify(prefix(4), account_id(), nullptr);
  EXPECT_EQ(at3.vk_generation, 2U);
  EXPECT_EQ(at3.slots.at("recovery-2").vk_generation, 1U);
  EXPECT_EQ(at3.slots.at("laptop").vk_generation, 2U);
  EXPECT_EQ(at3.head_hash, state_at(3).head_hash);

  // What the appender returned is what a reader derives; extending a verified prefix
  // arrives at the same head; any head seen earlier is accepted.
  EXPECT_EQ(state_at(8).head_hash, state.head_hash);
  AccountState extended = at3;
  AccountLog::extend(extended, std::span(entries()).subspan(4));
  EXPECT_EQ(extended.head_hash, state.head_hash);
  EXPECT_EQ(extended.slots.size(), 4U);
  for (std::uint64_t seq = 0; seq < entries().size(); ++seq) {
    const KnownHead seen = state_at(seq).head();
    EXPECT_EQ(AccountLog::verify(entries(), account_id(), &seen).head_hash, state.head_hash);
  }
}

TEST_F(AccountLogTest, AnotherAccountsGenesisIsRefused) {
  const std::string other = AccountLog::genesis(
      {"desk", keys().desk_slot, keys().recovery.public_key_spki_der()}, keys().desk, kTime + 1);
  expect_refused(with(0, other), LogFault::wrong_genesis, 0, "not the account id");
  std::vector<std::string> no_genesis = prefix(3);
  no_genesis.erase(no_genesis.begin());
  expect_fault(
      [&] { (void)AccountLog::verify(no_genesis, AccountLog::entry_hash(no_genesis[0]), nullptr); },
      LogFault::wrong_genesis, 0, "not a genesis");
  expect_fault([&] { (void)AccountLog::verify(std::vector<std::string>{}, account_id(), nullptr); },
               LogFault::wrong_genesis, std::nullopt, "empty");
  // A genesis signed by a key other than the one it enrols, and a second genesis.
  Json forged = {{"v", 1},
                 {"seq", 0},
                 {"kind", "genesis"},
                 {"time", kTime},
                 {"device_id", "desk"},
                 {"identity_key", base64_encode(keys().desk.public_key_spki_der())},
                 {"slot_key", base64_encode(keys().desk_slot)},
                 {"recovery_key", base64_encode(keys().recovery.public_key_spki_der())}};
  const std::string by_stranger = AccountLog::sign_es256(forged, keys().stranger);
  expect_fault(
      [&] {
        (void)AccountLog::verify(std::vector{by_stranger}, AccountLog::entry_hash(by_stranger),
                                 nullptr);
      },
      LogFault::wrong_signer, 0, "the device it enrols");
  Json again = forged;
  again["seq"] = 9;
  again["prev"] = state_at(8).head_hash;
  expect_refused(with(9, AccountLog::sign_es256(again, keys().desk)), LogFault::invalid_change, 9,
                 "second genesis");
}

TEST_F(AccountLogTest, ABrokenPrevLinkIsRefused) {
  Json statement = next(state_at(2), {{"kind", "slot-remove"}, {"slot_id", "recovery-2"}});
  statement["prev"] = state_at(1).head_hash;  // skips entry 2
  expect_refused(with(3, AccountLog::sign_es256(statement, keys().desk)), LogFault::broken_link, 3,
                 "\"prev\"");
  // An entry swapped for another valid one: the next entry's link breaks.
  std::vector<std::string> log = entries();
  log[2] = AccountLog::sign_es256(next(state_at(1), {{"kind", "slot-remove"}, {"slot_id", "desk"}}),
                                  keys().desk);
  expect_refused(log, LogFault::broken_link, 3);
}

TEST_F(AccountLogTest, AGapOrAReorderingIsRefused) {
  std::vector<std::string> gap = entries();
  gap.erase(gap.begin() + 4);
  expect_refused(gap, LogFault::out_of_order, 4, "carries seq 5");
  std::vector<std::string> swapped = entries();
  std::swap(swapped[5], swapped[6]);
  expect_refused(swapped, LogFault::out_of_order, 5, "carries seq 6");
  std::vector<std::string> repeated = prefix(6);
  repeated.push_back(entries()[5]);
  expect_refused(repeated, LogFault::out_of_order, 6, "carries seq 5");
}

TEST_F(AccountLogTest, ASignerThatIsNoEnrolledDeviceIsRefused) {
  const Json revoke = next(state_at(3), {{"kind", "device-revoke"}, {"device_id", "laptop"}});
  // Not enrolled at all, and not yet enrolled (the drawer joins at entry 4).
  expect_refused(with(4, AccountLog::sign_es256(revoke, keys().stranger)), LogFault::unknown_signer,
                 4, "no enrolled device");
  expect_refused(with(4, AccountLog::sign_es256(revoke, keys().drawer)), LogFault::unknown_signer,
                 4);
  // An RSA key that is no recovery slot.
  expect_refused(with(4, AccountLog::sign_ps256(revoke, keys().stranger_rsa)),
                 LogFault::unknown_signer, 4, "no recovery slot");
  // The appender refuses to write it in the first place, and leaves the state as it was.
  AccountState state = state_at(3);
  expect_fault(
      [&] { (void)AccountLog::append(state, DeviceRevoke{"laptop"}, keys().stranger, kTime); },
      LogFault::unknown_signer, 4);
  expect_fault(
      [&] { (void)AccountLog::append(state, DeviceRevoke{"laptop"}, keys().stranger_rsa, kTime); },
      LogFault::unknown_signer, 4);
  EXPECT_EQ(state.length, 4U);
  EXPECT_EQ(state.head_hash, state_at(3).head_hash);
}

TEST_F(AccountLogTest, ARevokedDeviceCanSignNothingMore) {
  const Json add =
      next(state_at(5), {{"kind", "device-add"},
                         {"device_id", "rogue"},
                         {"identity_key", base64_encode(keys().stranger.public_key_spki_der())},
                         {"slot_key", base64_encode(keys().laptop_slot)},
                         {"approved_by", "laptop"}});
  expect_refused(with(6, AccountLog::sign_es256(add, keys().laptop)), LogFault::revoked_signer, 6,
                 "device \"laptop\", revoked at entry 5");
  AccountState state = state_at(5);
  expect_fault([&] { (void)AccountLog::append(state, SlotRemove{"desk"}, keys().laptop, kTime); },
               LogFault::unknown_signer, 6);
  // Nor can its id or identity key come back.
  const DeviceAdd again{"laptop", keys().laptop.public_key_spki_der(), keys().laptop_slot};
  expect_fault([&] { (void)AccountLog::append(state, again, keys().desk, kTime); },
               LogFault::invalid_change, 6, "taken");
  const DeviceAdd renamed{"laptop-2", keys().laptop.public_key_spki_der(), keys().laptop_slot};
  expect_fault([&] { (void)AccountLog::append(state, renamed, keys().desk, kTime); },
               LogFault::invalid_change, 6, "another device's");
  expect_fault([&] { (void)AccountLog::append(state, DeviceRevoke{"laptop"}, keys().desk, kTime); },
               LogFault::invalid_change, 6, "already revoked");
}

TEST_F(AccountLogTest, ABadSignatureIsRefused) {
  for (std::uint64_t seq : {1U, 4U}) {  // ES256 by a device, PS256 by the recovery key
    SCOPED_TRACE(seq);
    Json entry = Json::parse(entries()[seq]);
    Bytes signature = base64_decode(entry["signature"].get<std::string>(), "signature");
    signature[10] ^= 0x01;
    entry["signature"] = base64_encode(signature);
    std::vector<std::string> log = prefix(seq);
    log.push_back(entry.dump(-1, ' ', true));
    expect_refused(log, LogFault::bad_signature, seq, "signature");
  }
}

TEST_F(AccountLogTest, AnUnknownKindOrVersionIsRefused) {
  expect_refused(
      with(9, AccountLog::sign_es256(next(state_at(8), {{"kind", "device-mint"}}), keys().desk)),
      LogFault::unknown_kind, 9);
  Json v2 = next(state_at(8), {{"kind", "slot-remove"}, {"slot_id", "desk-2"}});
  v2["v"] = 2;
  expect_refused(with(9, AccountLog::sign_es256(v2, keys().desk)), LogFault::unknown_version, 9);
  Json extra = next(state_at(8), {{"kind", "slot-remove"}, {"slot_id", "desk-2"}});
  extra["note"] = "hello";
  expect_refused(with(9, AccountLog::sign_es256(extra, keys().desk)), LogFault::malformed, 9,
                 "unknown member \"note\"");
}

TEST_F(AccountLogTest, DevicesAndSlotsOnlyAsTheLogRequires) {
  const std::string stranger_key = base64_encode(keys().stranger.public_key_spki_der());
  const auto device_add = [&](const char* approved_by) {
    return next(state_at(1), {{"kind", "device-add"},
                              {"device_id", "server-phone"},
                              {"identity_key", stranger_key},
                              {"slot_key", base64_encode(keys().drawer_slot)},
                              {"approved_by", approved_by}});
  };
  // Signed by the laptop, claiming the desk approved; claiming the recovery key did.
  expect_refused(with(2, AccountLog::sign_es256(device_add("desk"), keys().laptop)),
                 LogFault::wrong_signer, 2, "approved_by names \"desk\" but \"laptop\" signed it");
  expect_refused(with(2, AccountLog::sign_es256(device_add("recovery"), keys().desk)),
                 LogFault::wrong_signer, 2);
  // What a server would do: add a device or a slot of its own.
  expect_refused(with(2, AccountLog::sign_es256(device_add("server-phone"), keys().stranger)),
                 LogFault::unknown_signer, 2);
  const Json slot_add =
      next(state_at(1), {{"kind", "slot-add"},
                         {"slot_id", "server"},
                         {"slot_key", base64_encode(keys().recovery.public_key_spki_der())},
                         {"slot_for", "recovery"}});
  expect_refused(with(2, AccountLog::sign_es256(slot_add, keys().stranger)),
                 LogFault::unknown_signer, 2);
  expect_refused(with(2, AccountLog::sign_ps256(slot_add, keys().stranger_rsa)),
                 LogFault::unknown_signer, 2);
  // A device slot must be the slot key the device enrolled with.
  AccountState state = state_at(1);
  expect_fault(
      [&] {
        (void)AccountLog::append(state,
                                 SlotAdd{"laptop-2", keys().drawer_slot, SlotFor::device, "laptop"},
                                 keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "enrolled with");
  expect_fault(
      [&] {
        (void)AccountLog::append(state, SlotAdd{"x", keys().drawer_slot, SlotFor::device, "nobody"},
                                 keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "no enrolled device");
  // A recovery slot needs RSA-3072 or more; slot ids are unique.
  expect_fault(
      [&] {
        (void)AccountLog::append(state, SlotAdd{"weak", keys().drawer_slot, SlotFor::recovery, ""},
                                 keys().desk, kTime);
      },
      LogFault::malformed, 2, "3072");
  expect_fault(
      [&] {
        (void)AccountLog::append(state, SlotAdd{"desk", keys().desk_slot, SlotFor::device, "desk"},
                                 keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "already exists");
  // Rotations: the next generation, into slots that exist, each once.
  expect_fault(
      [&] {
        (void)AccountLog::append(state, KeyRotate{3, {"desk"}}, keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "does not follow 1");
  expect_fault(
      [&] {
        (void)AccountLog::append(state, KeyRotate{2, {"desk", "server"}}, keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "no slot \"server\"");
  expect_fault(
      [&] {
        (void)AccountLog::append(state, KeyRotate{2, {"desk", "desk"}}, keys().desk, kTime);
      },
      LogFault::invalid_change, 2, "named twice");
  expect_fault(
      [&] {
        (void)AccountLog::append(state, KeyRotate{2, {}}, keys().desk, kTime);
      },
      LogFault::malformed, 2);
  EXPECT_EQ(state.length, 2U);
}

TEST_F(AccountLogTest, WithoutARecoverySlotTheRecoveryKeySignsNothing) {
  AccountState state = state_at(8);
  (void)AccountLog::append(state, SlotRemove{"recovery"}, keys().desk, kTime);
  expect_fault(
      [&] { (void)AccountLog::append(state, SlotRemove{"desk-2"}, keys().recovery, kTime); },
      LogFault::unknown_signer, 10);
}

TEST_F(AccountLogTest, AShorterLogThanOneSeenIsRefused) {
  const KnownHead seen = state_at(8).head();
  expect_fault([&] { (void)AccountLog::verify(prefix(6), account_id(), &seen); },
               LogFault::shortened, std::nullopt, "fewer than the 9");
}

TEST_F(AccountLogTest, AForkIsRefused) {
  // The server shows this device entries 0-6, then another branch from entry 5 on.
  AccountState branch = state_at(4);
  std::vector<std::string> forked = prefix(5);
  forked.push_back(AccountLog::append(branch, SlotRemove{"recovery-2"}, keys().desk, kTime + 50));
  forked.push_back(AccountLog::append(branch, DeviceRevoke{"drawer"}, keys().laptop, kTime + 51));
  forked.push_back(AccountLog::append(branch, KeyRotate{3, {"desk", "laptop", "recovery"}},
                                      keys().laptop, kTime + 52));
  // Same length as the seen head, another hash there.
  const KnownHead seen6 = state_at(6).head();
  expect_fault([&] { (void)AccountLog::verify(forked, account_id(), &seen6); }, LogFault::forked, 6,
               "forked");
  // Longer than the seen head, which is not in it.
  const KnownHead seen5 = state_at(5).head();
  expect_fault([&] { (void)AccountLog::verify(forked, account_id(), &seen5); }, LogFault::forked,
               5);
  // The common part is not a fork; and a client that holds the state at 6 cannot be moved
  // onto the branch.
  const KnownHead seen4 = state_at(4).head();
  EXPECT_EQ(AccountLog::verify(forked, account_id(), &seen4).head_hash, branch.head_hash);
  AccountState mine = state_at(6);
  expect_fault([&] { AccountLog::extend(mine, std::span(forked).subspan(7)); },
               LogFault::broken_link, 7);
}

TEST_F(AccountLogTest, AnyChangedByteOfAnyEntryIsRefused) {
  // Each entry checked on the state before it (extend), so the tampered entry is the head
  // and only its own bytes can refuse it, not the next entry's link.
  std::size_t tried = 0;
  for (std::uint64_t seq = 0; seq < entries().size(); ++seq) {
    for (std::size_t at = 0; at < entries()[seq].size(); ++at) {
      std::string tampered = entries()[seq];
      tampered[at] = static_cast<char>(tampered[at] ^ 0x01);
      ++tried;
      try {
        if (seq == 0) {
          (void)AccountLog::verify(std::vector{tampered}, account_id(), nullptr);
        } else {
          AccountState state = state_at(seq - 1);
          AccountLog::extend(state, std::vector{tampered});
        }
        ADD_FAILURE() << "entry " << seq << ", byte " << at << " changed, accepted";
      } catch (const AccountLogError& error) {
        if (error.seq() != seq) ADD_FAILURE() << error.what();
      }
    }
  }
  EXPECT_GT(tried, 4000U);
}

// The recovery key as it really is, opened from its envelope, signs entries the log
// accepts: the way back when no device is left.
TEST(AccountLogRecovery, TheOpenedRecoveryKeySignsEntries) {
  const SoftwareSigningKey desk = SoftwareSigningKey::generate();
  const SoftwareSigningKey phone = SoftwareSigningKey::generate();
  const SecretBytes password = SecretBytes::from_string("correct horse battery");
  const RecoveryEnvelope envelope =
      create_recovery_envelope(password, desk, RecoveryKdfParams{2, 19 * 1024, 1});
  const RecoveryOpener opener = RecoveryOpener::open(envelope, password);
  std::vector<std::string> log{AccountLog::genesis(
      {"desk", slot_key("desk-slot"), opener.public_key_spki_der()}, desk, kTime)};
  AccountState state = AccountLog::verify(log, AccountLog::entry_hash(log[0]), nullptr);
  log.push_back(AccountLog::append(
      state, DeviceAdd{"phone", phone.public_key_spki_der(), slot_key("laptop-slot")}, opener,
      kTime + 1));
  log.push_back(AccountLog::append(state, DeviceRevoke{"desk"}, opener, kTime + 2));
  const AccountState verified = AccountLog::verify(log, AccountLog::entry_hash(log[0]), nullptr);
  EXPECT_EQ(verified.devices.at("phone").approved_by, "recovery");
  EXPECT_TRUE(verified.revoked.contains("desk"));
  EXPECT_EQ(verified.head_hash, state.head_hash);
}

// ---- the vault key check (vault_key_check.h) ---------------------------------------------

// check is refused against state with vault_key, saying says.
void expect_check_refused(const std::string& check, const MasterKey& vault_key,
                          const AccountState& state, std::string_view says) {
  try {
    verify_vault_key_check(bytes_of(check), vault_key, state);
    ADD_FAILURE() << "accepted; expected: " << says;
  } catch (const VaultKeyCheckError& error) {
    EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
  }
}

TEST_F(AccountLogTest, AVaultKeyIsTakenOnlyWithTheCheckAnEnrolledDeviceSigned) {
  // After entry 8: generation 3, desk and drawer enrolled, laptop revoked.
  const AccountState& state = state_at(8);
  ASSERT_EQ(state.vk_generation, 3u);
  const auto vault_key = SoftwareMasterKey::generate();
  const std::string check = sign_vault_key_check(vault_key, state.account_id, 3, keys().drawer);
  EXPECT_NO_THROW(verify_vault_key_check(bytes_of(check), vault_key, state));
  EXPECT_EQ(vault_key_check_id(3), "vault-key.3");

  // A key the server made (sealed to the device's public slot key) is not the one checked.
  expect_check_refused(check, SoftwareMasterKey::generate(), state, "another key than");
  // Moved to another generation or account.
  expect_check_refused(check, vault_key, state_at(2), "another account or key generation");
  expect_check_refused(sign_vault_key_check(vault_key, state.account_id, 2, keys().drawer),
                       vault_key, state, "another account or key generation");
  expect_check_refused(sign_vault_key_check(vault_key, std::string(64, 'f'), 3, keys().drawer),
                       vault_key, state, "another account or key generation");
  // Signed by a revoked device, or by a key no device has (the server's own).
  expect_check_refused(sign_vault_key_check(vault_key, state.account_id, 3, keys().laptop),
                       vault_key, state, "signed by no enrolled device");
  expect_check_refused(sign_vault_key_check(vault_key, state.account_id, 3, keys().stranger),
                       vault_key, state, "signed by no enrolled device");
  // An enrolled device's key named, the signature not its own.
  Json forged = Json::parse(check);
  forged["public_key"] = base64_encode(keys().desk.public_key_spki_der());
  expect_check_refused(forged.dump(), vault_key, state, "signature is invalid");
  // Not a check at all.
  expect_check_refused("{not json", vault_key, state, "malformed");
  expect_check_refused(std::string(), vault_key, state, "malformed");
}

}  // namespace
}  // namespace idvault::vault
