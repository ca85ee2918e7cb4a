// idvault-cloud through its real binary, on a SQLite data folder and on a private
// PostgreSQL server (the same cases on both): accounts made from a genesis entry and
// grown by entries the server verifies, items with their revisions, files under their
// hash, slots, changes and the long poll, every refusal of a request signature, and two
// accounts kept apart. A software identity key per device signs requests (RequestSigner)
// and log entries (AccountLog); the RSA slot and recovery keys are the account log test's,
// made once at build time. One server per back-end for the whole process, each case on
// fresh accounts, so the suite takes a few seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "host/cloud/store/cloud_store.h"
#include "tests/host/cloud/cloud_test_process.h"
#include "tests/host/rp/http_test_client.h"
#include "tests/support/missing_peer.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"
#include "vault/account/account_log.h"
#include "vault/account/request_signature.h"
#include "vault/keys/software_keys.h"

namespace {

using idvault::testing::CloudProcess;
using idvault::testing::HttpAnswer;
using idvault::testing::rsa_public;
using idvault::testing::TempDir;
using idvault::testing::TestPssKey;
using idvault::vault::AccountLog;
using idvault::vault::AccountState;
using idvault::vault::Bytes;
using idvault::vault::RequestSigner;
using Json = nlohmann::json;
using Device = idvault::testing::CloudDevice;

std::int64_t now() {
  return idvault::testing::unix_now();
}

struct Sent {
  std::string method;
  std::string target;
  std::string body;
  std::string headers;  // whole lines, each ending in CRLF
};

HttpAnswer send(int port, const Sent& request, const std::string& signature) {
  std::string bytes = request.method + " " + request.target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + request.headers;
  if (!signature.empty()) bytes += "Idvault-Signature: " + signature + "\r\n";
  bytes += "Content-Length: " + std::to_string(request.body.size()) + "\r\n\r\n" + request.body;
  return idvault::testing::http_raw(port, bytes);
}

Bytes bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

std::string header_value(const HttpAnswer& answer, const std::string& name) {
  std::istringstream lines(answer.head);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0 &&
        line[name.size()] == ':')
      return line.substr(name.size() + 2);
  }
  return {};
}

// The body of a join request for a device (unsigned: the device holds no key yet).
std::string join_body(const std::string& device_id, const idvault::vault::SoftwareSigningKey& key,
                      const std::string& nonce = std::string(32, 'e')) {
  return Json{{"device_id", device_id},
              {"identity_key", idvault::base64_encode(key.public_key_spki_der())},
              {"slot_key", idvault::base64_encode(rsa_public("laptop-slot"))},
              {"nonce", nonce}}
      .dump();
}

class Account {
 public:
  Account(int port, const std::string& device_id) : port_(port) {
    first_.id = device_id;
    first_.slot_key = rsa_public("desk-slot");
    genesis_ = AccountLog::genesis({device_id, first_.slot_key, recovery_key()}, first_.key, now());
    id_ = AccountLog::entry_hash(genesis_);
    state_ = AccountLog::verify(std::vector<std::string>{genesis_}, id_, nullptr);
  }
  static const Bytes& recovery_key() {
    static const Bytes key = rsa_public("recovery");
    return key;
  }
  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const std::string& genesis() const { return genesis_; }
  [[nodiscard]] Device& first() { return first_; }
  [[nodiscard]] AccountState& state() { return state_; }
  [[nodiscard]] std::string path(const std::string& rest) const {
    return "/v1/accounts/" + id_ + rest;
  }

  [[nodiscard]] std::string sign(const Device& device, const Sent& request,
                                 std::int64_t offset = 0) const {
    return RequestSigner(device.key, id_, device.id)
        .sign(request.method, request.target, bytes_of(request.body), now() + offset);
  }
  HttpAnswer call(const Device& device, const Sent& request) const {
    return send(port_, request, sign(device, request));
  }
  HttpAnswer create() { return call(first_, {"POST", "/v1/accounts", genesis_, ""}); }
  // Adds a device with an entry signed by the first device, through the server.
  HttpAnswer add_device(Device& device) {
    device.slot_key = rsa_public("laptop-slot");
    AccountState next = state_;
    const std::string entry = AccountLog::append(
        next,
        idvault::vault::DeviceAdd{device.id, device.key.public_key_spki_der(), device.slot_key},
        first_.key, now());
    HttpAnswer answer = call(first_, {"POST", path("/log"), entry, ""});
    if (answer.status == 201) state_ = next;
    return answer;
  }
  HttpAnswer revoke(const Device& device) {
    AccountState next = state_;
    const std::string entry =
        AccountLog::append(next, idvault::vault::DeviceRevoke{device.id}, first_.key, now());
    HttpAnswer answer = call(first_, {"POST", path("/log"), entry, ""});
    if (answer.status == 201) state_ = next;
    return answer;
  }

 private:
  int port_;
  Device first_;
  std::string genesis_;
  std::string id_;
  AccountState state_;
};

// One server per back-end for the whole process.
std::unique_ptr<TempDir>& data_folder() {
  static auto folder = std::make_unique<TempDir>("idvault-cloud-test");
  return folder;
}

idvault::testing::PostgresServer& postgres() {
  static const auto server = std::make_unique<idvault::testing::PostgresServer>();
  return *server;
}

int server_port(const std::string& backend) {
  if (backend == "sqlite") {
    static const auto process = std::make_unique<CloudProcess>(
        std::vector<std::string>{"--data", (*data_folder() / "data").string()});
    return process->port();
  }
  static const auto process = std::make_unique<CloudProcess>(
      std::vector<std::string>{"--db", postgres().create_database("cloud")});
  return process->port();
}

class CloudServer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres" && !idvault::testing::PostgresServer::available())
      IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
    port_ = server_port(GetParam());
  }
  // A created account with its first device "desk".
  std::unique_ptr<Account> new_account() {
    auto account = std::make_unique<Account>(port_, "desk");
    EXPECT_EQ(account->create().status, 201);
    return account;
  }
  int port_ = 0;
};

TEST_P(CloudServer, AccountIsMadeFromItsGenesisAndGrowsByVerifiedEntries) {
  Account account(port_, "desk");
  // Junk, and a genesis whose request is signed by another key: refused, nothing made.
  Device stranger{"desk"};
  const Sent junk{"POST", "/v1/accounts", "{\"not\":\"an entry\"}", ""};
  EXPECT_EQ(send(port_, junk, account.sign(account.first(), junk)).status, 400);
  const Sent create{"POST", "/v1/accounts", account.genesis(), ""};
  EXPECT_EQ(send(port_, create, account.sign(stranger, create)).status, 401);
  EXPECT_EQ(send(port_, create, "").status, 401);
  const HttpAnswer made = account.create();
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Json::parse(made.body)["account"], account.id());
  EXPECT_EQ(account.create().status, 409);

  Device laptop{"laptop"};
  const HttpAnswer added = account.add_device(laptop);
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(Json::parse(added.body)["seq"], 1);
  // The new device is let in at once, and reads the log byte for byte.
  const HttpAnswer log = account.call(laptop, {"GET", account.path("/log?from=0"), "", ""});
  ASSERT_EQ(log.status, 200) << log.body;
  const Json entries = Json::parse(log.body)["entries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].get<std::string>(), account.genesis());
  EXPECT_NO_THROW(
      (void)AccountLog::verify(entries.get<std::vector<std::string>>(), account.id(), nullptr));
  const HttpAnswer past = account.call(laptop, {"GET", account.path("/log?from=5"), "", ""});
  EXPECT_EQ(Json::parse(past.body)["length"], 2);
  EXPECT_TRUE(Json::parse(past.body)["entries"].empty());
  // An entry built on the old head (a lost race): 409 with the length to re-read from.
  AccountState old =
      AccountLog::verify(std::vector<std::string>{account.genesis()}, account.id(), nullptr);
  Device tablet{"tablet"};
  const std::string late = AccountLog::append(
      old, idvault::vault::DeviceAdd{tablet.id, tablet.key.public_key_spki_der(), laptop.slot_key},
      account.first().key, now());
  const HttpAnswer lost = account.call(account.first(), {"POST", account.path("/log"), late, ""});
  EXPECT_EQ(lost.status, 409) << lost.body;
  EXPECT_EQ(Json::parse(lost.body)["length"], 2);
}

TEST_P(CloudServer, LogEntryTheVerifierRefusesIsRefused) {
  auto account = new_account();
  // A device-add signed by a key the log never enrolled: what a client would refuse.
  Device stranger{"stranger"};
  const AccountState& state = account->state();
  const Json statement = {
      {"v", 1},
      {"seq", state.length},
      {"prev", state.head_hash},
      {"kind", "device-add"},
      {"time", now()},
      {"device_id", "stranger"},
      {"identity_key", idvault::base64_encode(stranger.key.public_key_spki_der())},
      {"slot_key", idvault::base64_encode(rsa_public("drawer-slot"))},
      {"approved_by", "desk"}};
  const std::string forged = AccountLog::sign_es256(statement, stranger.key);
  const HttpAnswer refused =
      account->call(account->first(), {"POST", account->path("/log"), forged, ""});
  EXPECT_EQ(refused.status, 400) << refused.body;
  // And the stranger is still no device of the account.
  EXPECT_EQ(account->call(stranger, {"GET", account->path("/log"), "", ""}).status, 401);
  const HttpAnswer log = account->call(account->first(), {"GET", account->path("/log"), "", ""});
  EXPECT_EQ(Json::parse(log.body)["entries"].size(), 1u);
}

TEST_P(CloudServer, ItemsAreWrittenOnTheirRevision) {
  auto account = new_account();
  Device& desk = account->first();
  const std::string item = account->path("/items/passport");
  const std::string first("sealed\0passport", 15);
  EXPECT_EQ(account->call(desk, {"PUT", item, first, ""}).status, 428);
  const HttpAnswer made = account->call(desk, {"PUT", item, first, "If-None-Match: *\r\n"});
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string r1 = header_value(made, "ETag");
  EXPECT_EQ(r1, "\"" + Json::parse(made.body)["revision"].get<std::string>() + "\"");
  const HttpAnswer read = account->call(desk, {"GET", item, "", ""});
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, first);
  EXPECT_EQ(header_value(read, "ETag"), r1);
  // A second first write is stale too.
  EXPECT_EQ(account->call(desk, {"PUT", item, "again", "If-None-Match: *\r\n"}).status, 409);

  const HttpAnswer second = account->call(desk, {"PUT", item, "v2", "If-Match: " + r1 + "\r\n"});
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string r2 = header_value(second, "ETag");
  EXPECT_NE(r1, r2);
  const HttpAnswer stale = account->call(desk, {"PUT", item, "v2b", "If-Match: " + r1 + "\r\n"});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ("\"" + Json::parse(stale.body)["current_revision"].get<std::string>() + "\"", r2);
  EXPECT_EQ(header_value(stale, "ETag"), r2);
  EXPECT_EQ(account->call(desk, {"GET", item, "", ""}).body, "v2");

  EXPECT_EQ(account->call(desk, {"DELETE", item, "", ""}).status, 428);
  const HttpAnswer gone = account->call(desk, {"DELETE", item, "", "If-Match: " + r2 + "\r\n"});
  ASSERT_EQ(gone.status, 200) << gone.body;
  const HttpAnswer tombstone = account->call(desk, {"GET", item, "", ""});
  EXPECT_EQ(tombstone.status, 410);
  EXPECT_EQ(header_value(tombstone, "ETag"), header_value(gone, "ETag"));
  EXPECT_EQ(account->call(desk, {"GET", account->path("/items/none"), "", ""}).status, 404);
}

TEST_P(CloudServer, FilesAreStoredUnderTheirHash) {
  auto account = new_account();
  Device& desk = account->first();
  std::string scan(300'000, '\0');
  for (std::size_t i = 0; i < scan.size(); ++i) scan[i] = static_cast<char>(i * 7 + 3);
  const std::string hash = idvault::cloud::sha256_hex(bytes_of(scan));
  const std::string path = account->path("/files/" + hash);
  EXPECT_EQ(account->call(desk, {"PUT", path, scan, ""}).status, 201);
  EXPECT_EQ(account->call(desk, {"PUT", path, scan, ""}).status, 200);  // idempotent
  const HttpAnswer read = account->call(desk, {"GET", path, "", ""});
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, scan);
  const std::string other_hash = idvault::cloud::sha256_hex(bytes_of("other"));
  EXPECT_EQ(account->call(desk, {"PUT", account->path("/files/" + other_hash), scan, ""}).status,
            400);
  EXPECT_EQ(account->call(desk, {"GET", account->path("/files/" + other_hash), "", ""}).status,
            404);
}

// What an account's files folder holds (SQLite's back-end; none for PostgreSQL's).
std::vector<std::string> files_folder(const std::string& backend, const Account& account) {
  std::vector<std::string> names;
  const std::filesystem::path folder = *data_folder() / "data" / "files" / account.id();
  if (backend != "sqlite" || !std::filesystem::exists(folder)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  return names;
}

bool is_incoming(const std::string& name) {
  return name.starts_with(".incoming-");
}

// An upload streams to disk while it is hashed: one whose bytes are not its name, or not
// the bytes it was signed for, is refused once in, and its temporary goes with it.
TEST_P(CloudServer, AFileWhoseBytesAreNotItsNameIsRefusedAndLeavesNothing) {
  auto account = new_account();
  Device& desk = account->first();
  std::string scan(2'000'000, '\0');
  for (std::size_t i = 0; i < scan.size(); ++i) scan[i] = static_cast<char>(i * 13 + 1);
  const std::string other_hash = idvault::cloud::sha256_hex(bytes_of("other"));
  const Sent misnamed{"PUT", account->path("/files/" + other_hash), scan, ""};
  const HttpAnswer refused = account->call(desk, misnamed);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("SHA-256"), std::string::npos) << refused.body;
  EXPECT_EQ(account->call(desk, {"GET", misnamed.target, "", ""}).status, 404);

  // Signed for one body, another (of the same length, named by its own hash) sent.
  std::string tampered = scan;
  tampered[1'500'000] ^= 1;
  const std::string tampered_path =
      account->path("/files/" + idvault::cloud::sha256_hex(bytes_of(tampered)));
  const std::string signature = account->sign(desk, {"PUT", tampered_path, scan, ""});
  const HttpAnswer unsigned_body = send(port_, {"PUT", tampered_path, tampered, ""}, signature);
  EXPECT_EQ(unsigned_body.status, 401) << unsigned_body.body;
  EXPECT_EQ(account->call(desk, {"GET", tampered_path, "", ""}).status, 404);
  EXPECT_TRUE(files_folder(GetParam(), *account).empty());
}

// A body that stops before its declared length: the connection ends, nothing is stored,
// and the part already written to disk is removed.
TEST_P(CloudServer, AnUploadCutShortStoresNothing) {
  auto account = new_account();
  Device& desk = account->first();
  const std::string scan(1'000'000, 's');
  const Sent upload{"PUT", account->path("/files/" + idvault::cloud::sha256_hex(bytes_of(scan))),
                    scan, ""};
  const std::string head =
      upload.method + " " + upload.target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nIdvault-Signature: " + account->sign(desk, upload) +
      "\r\nContent-Length: " + std::to_string(scan.size()) + "\r\n\r\n";
  const std::string part = head + scan.substr(0, 300'000);
  const int fd = idvault::testing::connect_local(port_);
  std::size_t sent = 0;
  while (sent < part.size()) {
    const ssize_t n = ::send(fd, part.data() + sent, part.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    sent += static_cast<std::size_t>(n);
  }
  const auto wait_for = [&](const auto& done) {
    for (int i = 0; i < 1000 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };
  if (GetParam() == "sqlite") {
    // Streaming: the part sent is on disk in a temporary before the body ends.
    EXPECT_TRUE(wait_for([&] {
      for (const std::string& name : files_folder(GetParam(), *account)) {
        if (is_incoming(name) && std::filesystem::file_size(*data_folder() / "data" / "files" /
                                                            account->id() / name) == 300'000)
          return true;
      }
      return false;
    }));
  }
  ::shutdown(fd, SHUT_WR);
  const HttpAnswer answer = idvault::testing::read_answer(fd);
  ::close(fd);
  EXPECT_NE(answer.status, 201) << answer.head;
  EXPECT_TRUE(wait_for([&] { return files_folder(GetParam(), *account).empty(); }))
      << "the temporary stays behind";
  EXPECT_EQ(account->call(desk, {"GET", upload.target, "", ""}).status, 404);
}

TEST_P(CloudServer, SlotsArePutListedAndRemoved) {
  auto account = new_account();
  Device& desk = account->first();
  const std::string slot = account->path("/slots/desk");
  // Only a slot the log names, holding as many bytes as its key's modulus (RSA-2048: 256;
  // the recovery key's RSA-3072: 384).
  const std::string sealed(256, 's');
  EXPECT_EQ(account->call(desk, {"PUT", account->path("/slots/nope"), sealed, ""}).status, 404);
  EXPECT_EQ(account->call(desk, {"PUT", slot, "sealed-vk", ""}).status, 400);
  EXPECT_EQ(account->call(desk, {"PUT", slot, sealed + "s", ""}).status, 400);
  EXPECT_EQ(account->call(desk, {"PUT", account->path("/slots/recovery"), sealed, ""}).status, 400);
  EXPECT_EQ(
      account->call(desk, {"PUT", account->path("/slots/recovery"), std::string(384, 'r'), ""})
          .status,
      200);
  EXPECT_EQ(account->call(desk, {"PUT", slot, sealed, ""}).status, 200);
  EXPECT_EQ(account->call(desk, {"GET", slot, "", ""}).body, sealed);
  const Json listed =
      Json::parse(account->call(desk, {"GET", account->path("/slots"), "", ""}).body);
  ASSERT_EQ(listed["slots"].size(), 2u);
  EXPECT_EQ(listed["slots"][0]["id"], "desk");
  EXPECT_EQ(account->call(desk, {"DELETE", slot, "", ""}).status, 204);
  EXPECT_EQ(account->call(desk, {"GET", slot, "", ""}).status, 404);
}

TEST_P(CloudServer, ChangesAndALongPollWokenByAWrite) {
  auto account = new_account();
  Device& desk = account->first();
  const Json all =
      Json::parse(account->call(desk, {"GET", account->path("/changes?since=0"), "", ""}).body);
  ASSERT_FALSE(all["changes"].empty());
  const std::int64_t seen = all["counter"];
  const std::string after = account->path("/changes?since=" + std::to_string(seen));
  EXPECT_TRUE(Json::parse(account->call(desk, {"GET", after, "", ""}).body)["changes"].empty());

  // Nothing changes: the poll answers empty after its wait.
  const auto quiet_start = std::chrono::steady_clock::now();
  const HttpAnswer quiet = account->call(desk, {"GET", after + "&wait=1", "", ""});
  EXPECT_EQ(quiet.status, 200);
  EXPECT_TRUE(Json::parse(quiet.body)["changes"].empty());
  EXPECT_GE(std::chrono::steady_clock::now() - quiet_start, std::chrono::milliseconds(900));

  // A write wakes a waiting poll well before its 20 s.
  const auto start = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    return account->call(desk, {"GET", after + "&wait=20", "", ""});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(
      account->call(desk, {"PUT", account->path("/items/address"), "x", "If-None-Match: *\r\n"})
          .status,
      200);
  const HttpAnswer woken = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
  ASSERT_EQ(woken.status, 200);
  const Json changes = Json::parse(woken.body)["changes"];
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["kind"], "item");
  EXPECT_EQ(changes[0]["id"], "address");
  EXPECT_GT(Json::parse(woken.body)["counter"].get<std::int64_t>(), seen);
}

TEST_P(CloudServer, EachBadSignatureIsRefused) {
  auto account = new_account();
  Device& desk = account->first();
  const Sent get{"GET", account->path("/slots"), "", ""};
  // Each refusal with its status and the reason it gives.
  const auto refused = [](const HttpAnswer& answer, int status, const std::string& why) {
    EXPECT_EQ(answer.status, status) << answer.body;
    EXPECT_NE(answer.body.find(why), std::string::npos) << answer.body;
  };
  refused(send(port_, get, ""), 401, "no Idvault-Signature");
  refused(send(port_, get, "v=1,account=zz"), 401, "malformed");
  refused(send(port_, get, account->sign(desk, get, -1000)), 401, "older");
  refused(send(port_, get, account->sign(desk, get, +1000)), 401, "ahead");
  // Signed for another body, another path; by another key under the device's name.
  const Sent put{"PUT", account->path("/slots/s"), "one", ""};
  refused(send(port_, {"PUT", put.target, "two", ""}, account->sign(desk, put)), 401, "body");
  refused(send(port_, {"PUT", account->path("/slots/t"), "one", ""}, account->sign(desk, put)), 401,
          "another path");
  Device impostor{"desk"};
  refused(send(port_, get, account->sign(impostor, get)), 401, "does not verify");
  Device unknown{"unknown"};
  refused(send(port_, get, account->sign(unknown, get)), 401, "no enrolled device");
  // A replay: the same header twice.
  const std::string once = account->sign(desk, get);
  EXPECT_EQ(send(port_, get, once).status, 200);
  refused(send(port_, get, once), 401, "replayed");

  // A revoked device: 403 from the entry on; a remaining device goes on.
  Device laptop{"laptop"};
  ASSERT_EQ(account->add_device(laptop).status, 201);
  EXPECT_EQ(account->call(laptop, get).status, 200);
  ASSERT_EQ(account->revoke(laptop).status, 201);
  refused(account->call(laptop, get), 403, "revoked");
  EXPECT_EQ(account->call(desk, get).status, 200);
}

TEST_P(CloudServer, TwoAccountsNeverSeeEachOther) {
  auto alice = new_account();
  auto bob = new_account();
  ASSERT_NE(alice->id(), bob->id());
  const std::string item = "/items/passport";
  ASSERT_EQ(
      alice->call(alice->first(), {"PUT", alice->path(item), "alice's", "If-None-Match: *\r\n"})
          .status,
      200);
  // Bob's device, correctly signed for itself, on Alice's path: 403.
  const Sent foreign{"GET", alice->path(item), "", ""};
  EXPECT_EQ(send(port_, foreign, bob->sign(bob->first(), foreign)).status, 403);
  // Bob's device naming Alice's account in its header: not a device of hers.
  const std::string as_alice =
      RequestSigner(bob->first().key, alice->id(), "desk").sign("GET", foreign.target, {}, now());
  EXPECT_EQ(send(port_, foreign, as_alice).status, 401);
  // Bob's own item of the same name is not Alice's, and his changes do not list hers.
  EXPECT_EQ(bob->call(bob->first(), {"GET", bob->path(item), "", ""}).status, 404);
  const Json changes =
      Json::parse(bob->call(bob->first(), {"GET", bob->path("/changes?since=0"), "", ""}).body);
  for (const auto& change : changes["changes"]) EXPECT_NE(change["kind"], "item");
}

TEST_P(CloudServer, AJoinRequestIsListedThenApprovedOrDeclined) {
  auto account = new_account();
  Device& desk = account->first();
  const std::string requests = account->path("/join-requests");
  Device laptop{"laptop"};
  const HttpAnswer made = send(port_, {"POST", requests, join_body("laptop", laptop.key), ""}, "");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = Json::parse(made.body)["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NEAR(Json::parse(made.body)["expires"].get<std::int64_t>(), now() + 900, 30);
  const Sent status{"GET", requests + "/" + id, "", ""};
  EXPECT_EQ(Json::parse(send(port_, status, "").body)["status"], "pending");

  // The account's devices list it (signed only); the joining device reads only its status.
  EXPECT_EQ(send(port_, {"GET", requests, "", ""}, "").status, 401);
  const HttpAnswer listed = account->call(desk, {"GET", requests, "", ""});
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json list = Json::parse(listed.body)["requests"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["device_id"], "laptop");
  EXPECT_EQ(list[0]["identity_key"], idvault::base64_encode(laptop.key.public_key_spki_der()));
  EXPECT_EQ(list[0]["slot_key"], idvault::base64_encode(rsa_public("laptop-slot")));
  EXPECT_EQ(list[0]["nonce"], std::string(32, 'e'));
  EXPECT_EQ(list[0]["expires"].get<std::int64_t>() - list[0]["created"].get<std::int64_t>(), 900);

  // Approved: the log enrols the request's identity key. No longer listed.
  ASSERT_EQ(account->add_device(laptop).status, 201);
  EXPECT_EQ(Json::parse(send(port_, status, "").body)["status"], "approved");
  EXPECT_TRUE(Json::parse(account->call(desk, {"GET", requests, "", ""}).body)["requests"].empty());
  // Now taken: its id and its identity key.
  Device other{"tablet"};
  EXPECT_EQ(send(port_, {"POST", requests, join_body("laptop", other.key), ""}, "").status, 409);
  EXPECT_EQ(send(port_, {"POST", requests, join_body("tablet", laptop.key), ""}, "").status, 409);

  // Declined: gone.
  const HttpAnswer second = send(port_, {"POST", requests, join_body("tablet", other.key), ""}, "");
  ASSERT_EQ(second.status, 201) << second.body;
  const std::string declined = requests + "/" + Json::parse(second.body)["id"].get<std::string>();
  EXPECT_EQ(send(port_, {"DELETE", declined, "", ""}, "").status, 401);
  EXPECT_EQ(account->call(desk, {"DELETE", declined, "", ""}).status, 204);
  EXPECT_EQ(send(port_, {"GET", declined, "", ""}, "").status, 404);
  EXPECT_EQ(account->call(desk, {"DELETE", declined, "", ""}).status, 404);
  EXPECT_EQ(send(port_, {"GET", requests + "/" + std::string(32, '0'), "", ""}, "").status, 404);
}

TEST_P(CloudServer, AMalformedJoinRequestIsRefusedWithItsReason) {
  auto account = new_account();
  const std::string requests = account->path("/join-requests");
  Device laptop{"laptop"};
  Json good = Json::parse(join_body("laptop", laptop.key));
  const auto refused = [&](const Json& body, const std::string& why) {
    const HttpAnswer answer = send(port_, {"POST", requests, body.dump(), ""}, "");
    EXPECT_EQ(answer.status, 400) << answer.body;
    EXPECT_NE(answer.body.find(why), std::string::npos) << answer.body;
  };
  Json body = good;
  body["device_id"] = "two words";
  refused(body, "device_id");
  body = good;
  body["identity_key"] = idvault::base64_encode(rsa_public("drawer-slot"));  // RSA, not EC
  refused(body, "identity_key");
  body = good;
  body["slot_key"] = good["identity_key"];  // EC, not RSA
  refused(body, "slot_key");
  body = good;
  body["nonce"] = std::string(32, 'E');
  refused(body, "nonce");
  body = good;
  body["extra"] = 1;
  refused(body, "only");
  const HttpAnswer junk = send(port_, {"POST", requests, "not json", ""}, "");
  EXPECT_EQ(junk.status, 400) << junk.body;
  const std::string nobody = "/v1/accounts/" + std::string(64, 'f') + "/join-requests";
  EXPECT_EQ(send(port_, {"POST", nobody, good.dump(), ""}, "").status, 404);
}

TEST_P(CloudServer, TheRecoveryKeyEnvelopeIsPutSignedAndReadUnsigned) {
  auto account = new_account();
  const std::string path = account->path("/recovery-key");
  EXPECT_EQ(send(port_, {"GET", path, "", ""}, "").status, 404);
  const std::string envelope("sealed\0under the code", 21);
  EXPECT_EQ(send(port_, {"PUT", path, envelope, ""}, "").status, 401);
  EXPECT_EQ(account->call(account->first(), {"PUT", path, envelope, ""}).status, 204);
  const HttpAnswer read = send(port_, {"GET", path, "", ""}, "");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, envelope);
  EXPECT_EQ(
      account->call(account->first(), {"PUT", path, std::string((16 << 10) + 1, 'x'), ""}).status,
      413);
  EXPECT_EQ(send(port_, {"GET", path, "", ""}, "").body, envelope);
}

TEST_P(CloudServer, OnlyTheRecoveryKeyMayPostAnEntryUnsigned) {
  auto account = new_account();
  const std::string log = account->path("/log");
  Device fresh{"fresh"};
  const idvault::vault::DeviceAdd add{fresh.id, fresh.key.public_key_spki_der(),
                                      rsa_public("drawer-slot")};
  // A device-signed entry without the request signature: 401, nothing appended.
  AccountState by_device = account->state();
  const std::string device_entry = AccountLog::append(by_device, add, account->first().key, now());
  EXPECT_EQ(send(port_, {"POST", log, device_entry, ""}, "").status, 401);
  // PS256 by an RSA key that is no recovery slot's: 401.
  AccountState forged = account->state();
  const Json statement = {{"v", 1},
                          {"seq", forged.length},
                          {"prev", forged.head_hash},
                          {"kind", "device-add"},
                          {"time", now()},
                          {"device_id", fresh.id},
                          {"identity_key", idvault::base64_encode(add.identity_key)},
                          {"slot_key", idvault::base64_encode(add.slot_key)},
                          {"approved_by", "recovery"}};
  const std::string stranger = AccountLog::sign_ps256(statement, TestPssKey("stranger-rsa"));
  EXPECT_EQ(send(port_, {"POST", log, stranger, ""}, "").status, 401);
  // Signed by the recovery key: taken, and the new device is let in at once.
  AccountState next = account->state();
  const std::string recovered = AccountLog::append(next, add, TestPssKey("recovery"), now());
  const HttpAnswer appended = send(port_, {"POST", log, recovered, ""}, "");
  ASSERT_EQ(appended.status, 201) << appended.body;
  EXPECT_EQ(send(port_, {"POST", log, recovered, ""}, "").status, 409);
  EXPECT_EQ(account->call(fresh, {"GET", account->path("/log"), "", ""}).status, 200);
}

TEST_P(CloudServer, TheRecoveryKeyReadsTheLogAndNothingElse) {
  auto account = new_account();
  const TestPssKey recovery("recovery");
  const auto as = [&](const idvault::vault::PssSigningKey& key, const std::string& slot,
                      const Sent& request) {
    const std::string signature =
        RequestSigner(key, account->id(), slot)
            .sign(request.method, request.target, bytes_of(request.body), now());
    return send(port_, request, signature);
  };
  // PS256 by the key of the recovery slot the log names: the log, as a device reads it.
  const HttpAnswer log = as(recovery, "recovery", {"GET", account->path("/log"), "", ""});
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_EQ(Json::parse(log.body)["entries"].size(), 1u);
  // Nothing else: everything else waits for the device it enrols.
  for (const Sent& other :
       {Sent{"GET", account->path("/slots"), "", ""},
        Sent{"GET", account->path("/slots/recovery"), "", ""},
        Sent{"PUT", account->path("/slots/recovery"), std::string(384, 'r'), ""},
        Sent{"GET", account->path("/items/passport"), "", ""},
        Sent{"GET", account->path("/join-requests"), "", ""}}) {
    const HttpAnswer answer = as(recovery, "recovery", other);
    EXPECT_EQ(answer.status, 403) << other.method << " " << other.target << ": " << answer.body;
  }
  // Another RSA key, a slot that is no recovery slot, or the key under a device's name: 401.
  EXPECT_EQ(
      as(TestPssKey("stranger-rsa"), "recovery", {"GET", account->path("/log"), "", ""}).status,
      401);
  EXPECT_EQ(as(recovery, "desk", {"GET", account->path("/log"), "", ""}).status, 401);
  EXPECT_EQ(as(recovery, "drawer", {"GET", account->path("/log"), "", ""}).status, 401);
}

TEST_P(CloudServer, TwoAccountsNeverSeeEachOthersJoinRequestsOrRecoveryKey) {
  auto alice = new_account();
  auto bob = new_account();
  Device laptop{"laptop"};
  const HttpAnswer made =
      send(port_, {"POST", alice->path("/join-requests"), join_body("laptop", laptop.key), ""}, "");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = Json::parse(made.body)["id"];
  ASSERT_EQ(
      alice->call(alice->first(), {"PUT", alice->path("/recovery-key"), "alice's", ""}).status,
      204);
  // Under Bob's account, Alice's request id and recovery key are nothing.
  EXPECT_EQ(send(port_, {"GET", bob->path("/join-requests/" + id), "", ""}, "").status, 404);
  EXPECT_TRUE(
      Json::parse(
          bob->call(bob->first(), {"GET", bob->path("/join-requests"), "", ""}).body)["requests"]
          .empty());
  EXPECT_EQ(bob->call(bob->first(), {"DELETE", bob->path("/join-requests/" + id), "", ""}).status,
            404);
  EXPECT_EQ(send(port_, {"GET", bob->path("/recovery-key"), "", ""}, "").status, 404);
  // Bob's device on Alice's paths: 403.
  const Sent list{"GET", alice->path("/join-requests"), "", ""};
  EXPECT_EQ(send(port_, list, bob->sign(bob->first(), list)).status, 403);
  const Sent decline{"DELETE", alice->path("/join-requests/" + id), "", ""};
  EXPECT_EQ(send(port_, decline, bob->sign(bob->first(), decline)).status, 403);
  const Sent put{"PUT", alice->path("/recovery-key"), "bob's", ""};
  EXPECT_EQ(send(port_, put, bob->sign(bob->first(), put)).status, 403);
  EXPECT_EQ(
      Json::parse(
          send(port_, {"GET", alice->path("/join-requests/" + id), "", ""}, "").body)["status"],
      "pending");
  EXPECT_EQ(send(port_, {"GET", alice->path("/recovery-key"), "", ""}, "").body, "alice's");
}

TEST_P(CloudServer, OperationalEndpoints) {
  EXPECT_EQ(send(port_, {"GET", "/healthz", "", ""}, "").status, 200);
  const HttpAnswer metrics = send(port_, {"GET", "/metrics", "", ""}, "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(
      metrics.body.find("idvault_cloud_requests_total{route=\"GET /healthz\",status=\"200\"}"),
      std::string::npos)
      << metrics.body;
  EXPECT_EQ(send(port_, {"GET", "/v2/nothing", "", ""}, "").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, CloudServer, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Join requests' limits, on a server of their own (its own per-client bucket, a 1 s TTL):
// 16 waiting per account, then 429 until one lapses; a lapsed request is gone; one
// client asking too often gets 429 with Retry-After, well-formed or not.
class CloudServerJoinLimits : public ::testing::TestWithParam<std::string> {};

TEST_P(CloudServerJoinLimits, SixteenWaitingThenTheyLapseAndOneClientIsSlowedDown) {
  std::unique_ptr<TempDir> folder;
  std::string where;
  if (GetParam() == "postgres") {
    if (!idvault::testing::PostgresServer::available())
      IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
    where = postgres().create_database("cloud_join_limits");
  } else {
    folder = std::make_unique<TempDir>("idvault-cloud-join");
    where = (*folder / "data").string();
  }
  const CloudProcess server(
      {GetParam() == "postgres" ? "--db" : "--data", where, "--join-ttl-seconds", "1"});
  Account account(server.port(), "desk");
  ASSERT_EQ(account.create().status, 201);
  const std::string requests = account.path("/join-requests");
  Device laptop{"laptop"};
  const Sent join{"POST", requests, join_body("laptop", laptop.key), ""};
  // Expiry is in whole seconds: made at the start of one, all 16 lapse at the next.
  const auto next_second = [] {
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(
        std::chrono::seconds(now() + 1) + std::chrono::milliseconds(20)));
  };
  next_second();
  const std::int64_t second = now();
  std::string first;
  for (int i = 0; i < 16; ++i) {
    const HttpAnswer made = send(server.port(), join, "");
    ASSERT_EQ(made.status, 201) << i << made.body;
    if (i == 0) first = Json::parse(made.body)["id"];
  }
  const HttpAnswer full = send(server.port(), join, "");
  if (now() == second) {  // else a loaded machine let the first lapse already
    EXPECT_EQ(full.status, 429) << full.body;
    EXPECT_EQ(header_value(full, "Retry-After"), "1");
  }
  // Lapsed: not listed, not readable, and room again.
  next_second();
  EXPECT_EQ(send(server.port(), {"GET", requests + "/" + first, "", ""}, "").status, 404);
  EXPECT_TRUE(Json::parse(account.call(account.first(), {"GET", requests, "", ""}).body)["requests"]
                  .empty());
  EXPECT_EQ(send(server.port(), join, "").status, 201);
  // The client's bucket (20 at once, then one a second) is nearly spent: junk soon gets 429.
  HttpAnswer slowed;
  for (int i = 0; i < 25 && slowed.status != 429; ++i)
    slowed = send(server.port(), {"POST", requests, "junk", ""}, "");
  EXPECT_EQ(slowed.status, 429) << slowed.body;
  EXPECT_FALSE(header_value(slowed, "Retry-After").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, CloudServerJoinLimits, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// A small quota: the write that would pass it gets 507 and stores nothing.
TEST(CloudServerQuota, AWriteOverTheQuotaIs507) {
  TempDir folder("idvault-cloud-quota");
  const CloudProcess server({"--data", (folder / "data").string(), "--quota-bytes", "8000"});
  Account account(server.port(), "desk");
  ASSERT_EQ(account.create().status, 201);
  const std::string big(8000, 'z');
  const std::string hash = idvault::cloud::sha256_hex(bytes_of(big));
  const HttpAnswer refused =
      account.call(account.first(), {"PUT", account.path("/files/" + hash), big, ""});
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_EQ(account.call(account.first(), {"GET", account.path("/files/" + hash), "", ""}).status,
            404);
}

// The declared length is weighed against the quota before any byte of the body is read:
// the 507 comes back to a client that has sent only the head.
TEST(CloudServerQuota, AnUploadDeclaredOverTheQuotaIs507BeforeItsBody) {
  TempDir folder("idvault-cloud-quota");
  const CloudProcess server({"--data", (folder / "data").string(), "--quota-bytes", "8000"});
  Account account(server.port(), "desk");
  ASSERT_EQ(account.create().status, 201);
  const std::string big(9000, 'q');
  const Sent upload{"PUT", account.path("/files/" + idvault::cloud::sha256_hex(bytes_of(big))), big,
                    ""};
  const std::string head = upload.method + " " + upload.target +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nIdvault-Signature: " +
                           account.sign(account.first(), upload) +
                           "\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n";
  // Only the head: a server waiting for the body would answer 408 after its read timeout.
  const int fd = idvault::testing::connect_local(server.port());
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const HttpAnswer refused = idvault::testing::read_answer(fd);
  ::close(fd);
  EXPECT_EQ(refused.status, 507) << refused.head << refused.body;
  const std::filesystem::path files = folder / "data" / "files" / account.id();
  EXPECT_TRUE(!std::filesystem::exists(files) || std::filesystem::is_empty(files));
  EXPECT_EQ(account.call(account.first(), {"GET", upload.target, "", ""}).status, 404);
}

// PostgreSQL down: 503 with Retry-After, and service again once it is back.
TEST(CloudServerPostgres, StoreDownIs503WithRetryAfter) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const CloudProcess server({"--db", postgres().create_database("cloud_down")});
  Account account(server.port(), "desk");
  ASSERT_EQ(account.create().status, 201);
  const Sent get{"GET", account.path("/slots"), "", ""};
  postgres().stop();
  const HttpAnswer down = account.call(account.first(), get);
  const HttpAnswer health = send(server.port(), {"GET", "/healthz", "", ""}, "");
  postgres().start();
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(header_value(down, "Retry-After"), "1");
  EXPECT_EQ(health.status, 503);
  HttpAnswer back;
  for (int attempt = 0; attempt < 20; ++attempt) {
    back = account.call(account.first(), get);
    if (back.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(back.status, 200) << back.body;
}

// Two server processes on one PostgreSQL database: a device added through one is let in
// by the other, and a long poll on one sees a write made through the other (within the
// recheck interval, about a second).
TEST(CloudServerPostgres, TwoProcessesOnOneDatabaseSeeEachOther) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const std::string database = postgres().create_database("cloud_shared");
  const CloudProcess one({"--db", database});
  const CloudProcess two({"--db", database});
  Account via_one(one.port(), "desk");
  ASSERT_EQ(via_one.create().status, 201);
  // The same account, reached through the other process.
  const auto call_two = [&](const Device& device, const Sent& request) {
    return send(two.port(), request, via_one.sign(device, request));
  };
  const Json all =
      Json::parse(call_two(via_one.first(), {"GET", via_one.path("/changes"), "", ""}).body);
  const std::string after =
      via_one.path("/changes?since=" + std::to_string(all["counter"].get<std::int64_t>()));

  auto poll = std::async(std::launch::async, [&] {
    return call_two(via_one.first(), {"GET", after + "&wait=20", "", ""});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  Device laptop{"laptop"};
  ASSERT_EQ(via_one.add_device(laptop).status, 201);
  const HttpAnswer woken = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
  ASSERT_EQ(woken.status, 200);
  ASSERT_EQ(Json::parse(woken.body)["changes"].size(), 1u) << woken.body;
  EXPECT_EQ(Json::parse(woken.body)["changes"][0]["kind"], "log");
  EXPECT_EQ(call_two(laptop, {"GET", via_one.path("/slots"), "", ""}).status, 200);
}

// SIGTERM while a long poll waits: the poll is answered at once and the server exits 0.
TEST(CloudServerStop, SigtermAnswersWaitingPollsAndExits) {
  TempDir folder("idvault-cloud-stop");
  auto server =
      std::make_unique<CloudProcess>(std::vector<std::string>{"--data", (folder / "d").string()});
  Account account(server->port(), "desk");
  ASSERT_EQ(account.create().status, 201);
  const auto start = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    return account.call(account.first(),
                        {"GET", account.path("/changes?since=99&wait=30"), "", ""});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.reset();  // SIGTERM, and waits for exit status 0
  const HttpAnswer answer = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
  EXPECT_EQ(answer.status, 200);
}

// Mistakes on the command line: one line on stderr, status 2.
TEST(CloudServerOptions, BadOptionsAreOneLineAndStatus2) {
  for (const std::string args :
       {"--bogus", "", "--data /tmp/x --db postgresql://h/d", "--data /tmp/x --tls-cert c",
        "--db /tmp/folder", "--data /tmp/x --quota-bytes 0",
        "--data /tmp/x --join-ttl-seconds 0"}) {
    const std::string command = std::string(IDVAULT_CLOUD_BIN) + " " + args + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    EXPECT_EQ(WEXITSTATUS(status), 2) << args;
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
    EXPECT_EQ(output.rfind("idvault-cloud: ", 0), 0u) << output;
  }
}

}  // namespace
