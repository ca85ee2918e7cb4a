// The account proof a share carries (vault/account/account_proof.h): a log from the
// account's genesis proves a device it enrols and has not revoked, the ones that joined
// later included; a key the log never enrols, a forged or altered entry, a revoked device
// and a log of another genesis than the id names are refused, each with its reason. The
// bundle form reads back and its wrong shapes are refused. Software EC keys; the RSA slot
// and recovery keys are the build-time ones of account_log_test (tests/vault/CMakeLists.txt).
#include "vault/account/account_proof.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/openssl_owners.h"
#include "tests/support/account_log_keys.h"
#include "vault/account/account_log.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kTime = 1'700'000'000;

// The SPKI DER of a build-time RSA key's public half.
Bytes public_key_of(const std::string& name) {
  return test::account_log_key_spki(IDVAULT_ACCOUNT_LOG_TEST_KEYS, name);
}

struct Account {
  SoftwareSigningKey desk = SoftwareSigningKey::generate();
  SoftwareSigningKey laptop = SoftwareSigningKey::generate();
  SoftwareSigningKey stranger = SoftwareSigningKey::generate();
  Bytes desk_slot = public_key_of("desk-slot");
  Bytes laptop_slot = public_key_of("laptop-slot");
  Bytes recovery = public_key_of("recovery");
  // 0 genesis "desk", 1 device-add "laptop" (by desk), 2 device-revoke "laptop" (by desk)
  std::vector<std::string> log;
  AccountState state;

  Account() {
    log.push_back(AccountLog::genesis({"desk", desk_slot, recovery}, desk, kTime));
    state = AccountLog::verify(log, id(), nullptr);
    log.push_back(AccountLog::append(
        state, DeviceAdd{"laptop", laptop.public_key_spki_der(), laptop_slot}, desk, kTime + 1));
  }
  [[nodiscard]] std::string id() const { return AccountLog::entry_hash(log.front()); }
  void revoke_laptop() {
    log.push_back(AccountLog::append(state, DeviceRevoke{"laptop"}, desk, kTime + 2));
  }
  [[nodiscard]] AccountProof proof() const { return {id(), log}; }
};

void expect_refused(const AccountProof& proof, const SigningKey& key, std::string_view says) {
  try {
    const ProvenDevice proven = verify_account_proof(proof, key.public_key_spki_der());
    ADD_FAILURE() << "accepted as device " << proven.device_id << "; expected: " << says;
  } catch (const AccountProofError& error) {
    EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
  }
}

TEST(AccountProof, ProvesTheGenesisDeviceAndOneThatJoinedLater) {
  const Account account;
  const ProvenDevice desk =
      verify_account_proof(account.proof(), account.desk.public_key_spki_der());
  EXPECT_EQ(desk.account_id, account.id());
  EXPECT_EQ(desk.device_id, "desk");
  EXPECT_EQ(desk.log_length, 2U);
  const ProvenDevice laptop =
      verify_account_proof(account.proof(), account.laptop.public_key_spki_der());
  EXPECT_EQ(laptop.account_id, account.id());
  EXPECT_EQ(laptop.device_id, "laptop");
}

TEST(AccountProof, RefusesAKeyTheLogDoesNotEnrol) {
  const Account account;
  expect_refused(account.proof(), account.stranger, "no device the account's log enrols");
  // The log up to the genesis does not yet hold the laptop.
  expect_refused({account.id(), {account.log.front()}}, account.laptop,
                 "no device the account's log enrols");
}

TEST(AccountProof, RefusesAForgedOrAlteredEntry) {
  Account account;
  // A device-add for the stranger, as the desk would write it, but signed by the stranger
  // itself: no enrolled device's key.
  AccountState copy = account.state;
  const std::string honest = AccountLog::append(
      copy, DeviceAdd{"stranger", account.stranger.public_key_spki_der(), account.laptop_slot},
      account.desk, kTime + 5);
  const Json forged = Json::parse(honest).at("signed");
  AccountProof proof = account.proof();
  proof.log.push_back(AccountLog::sign_es256(forged, account.stranger));
  expect_refused(proof, account.stranger, "account log entry 2: signed by a key");

  // An entry altered after it was signed: the laptop's device-add naming another id.
  proof = account.proof();
  const std::string::size_type at = proof.log[1].find("\"laptop\"");
  ASSERT_NE(at, std::string::npos);
  proof.log[1].replace(at, 8, "\"lapto0\"");
  expect_refused(proof, account.laptop, "account log entry 1: the signature of device");
}

TEST(AccountProof, RefusesADeviceTheLogRevokes) {
  Account account;
  account.revoke_laptop();
  expect_refused(account.proof(), account.laptop,
                 "the receipt's key is device \"laptop\", revoked at log entry 2");
  // The device that stays is still proven by the same log.
  EXPECT_EQ(verify_account_proof(account.proof(), account.desk.public_key_spki_der()).device_id,
            "desk");
}

TEST(AccountProof, RefusesALogOfAnotherGenesisThanTheIdNames) {
  const Account account;
  const Account other;
  // Another account's log under this account's id.
  expect_refused({account.id(), other.log}, other.desk, "the genesis hash is not the account id");
  // This account's log under another id.
  expect_refused({other.id(), account.log}, account.desk, "the genesis hash is not the account id");
  // Each account proves only its own devices.
  expect_refused(other.proof(), account.laptop, "no device the account's log enrols");
}

TEST(AccountProof, TheBundleFormReadsBack) {
  const Account account;
  const Json json = Json::parse(to_json(account.proof()).dump());
  EXPECT_EQ(json.at("id"), account.id());
  const AccountProof read = account_proof_from_json(json);
  EXPECT_EQ(read.account_id, account.id());
  EXPECT_EQ(read.log, account.log);
  EXPECT_EQ(verify_account_proof(read, account.laptop.public_key_spki_der()).device_id, "laptop");
}

TEST(AccountProof, RefusesWrongShapes) {
  const Account account;
  const auto refused = [](const Json& json, std::string_view where) {
    try {
      (void)account_proof_from_json(json);
      ADD_FAILURE() << "accepted " << json.dump().substr(0, 200);
    } catch (const FormatError& error) {
      EXPECT_NE(std::string(error.what()).find(where), std::string::npos) << error.what();
    }
  };
  refused(Json::array(), "account");
  refused({{"log", account.log}}, "account");
  refused({{"id", "ABC"}, {"log", account.log}}, "account.id");
  refused({{"id", account.id()}}, "account.log");
  refused({{"id", account.id()}, {"log", Json::array()}}, "account.log");
  refused({{"id", account.id()}, {"log", {1, 2}}}, "account.log[0]");
  refused({{"id", account.id()}, {"log", account.log}, {"head", 1}}, "account.head");
  const std::vector<std::string> too_long(kMaxAccountProofEntries + 1, account.log.front());
  refused({{"id", account.id()}, {"log", too_long}}, "account.log");
}

}  // namespace
}  // namespace idvault::vault
