// The cloud store, the same behaviour on both back-ends (SQLite in a data directory,
// PostgreSQL on a private server this process starts): accounts and their log, slots,
// items with their revision rule, files under their hash, the change counter, the quota,
// request nonces, and two accounts kept apart; racing writers on one account; a store
// opened again. Then the SQLite store's files: private from the first byte.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "host/cloud/store/cloud_store.h"
#include "host/cloud/store/postgres_cloud_store.h"
#include "host/cloud/store/sqlite_cloud_store.h"
#include "tests/support/missing_peer.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"

namespace {

using idvault::cloud::ChangeKind;
using idvault::cloud::CloudLimits;
using idvault::cloud::CloudStore;
using idvault::cloud::ItemWrite;
using Bytes = std::vector<std::uint8_t>;

// One server and one database for the whole process, emptied for each case: cheaper than
// a createdb per case on a busy machine.
idvault::testing::PostgresServer& postgres() {
  static const auto server = std::make_unique<idvault::testing::PostgresServer>();
  return *server;
}

std::string emptied_database() {
  static const std::string uri = postgres().create_database("cloud");
  pqxx::connection connection(uri);
  pqxx::work transaction(connection);
  transaction.exec(
      "DO $$ BEGIN IF to_regclass('accounts') IS NOT NULL THEN"
      "  TRUNCATE accounts, log_entries, slots, items, files, changes, nonces, join_requests,"
      "    recovery_keys;"
      "END IF; END $$;");
  transaction.commit();
  return uri;
}

Bytes bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

// Bytes a text column would mangle: NUL, high bytes, a backslash.
const Bytes kAwkward{0x00, 0xff, 0x5c, 0x78, 0x01, 0x00};  // NOLINT(cert-err58-cpp)
const std::string kAlice(64, 'a');                         // NOLINT(cert-err58-cpp)
const std::string kBob(64, 'b');                           // NOLINT(cert-err58-cpp)

ItemWrite write(const std::string& id, const std::string& revision, const std::string& parent,
                const Bytes& content, bool deleted = false) {
  return ItemWrite{id, revision, parent, content, deleted};
}

class CloudStoreBehaviour : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (!idvault::testing::PostgresServer::available())
        IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
      where_ = emptied_database();
    } else {
      where_ = (dir_ / "data").string();
    }
    store_ = open();
  }

  [[nodiscard]] std::unique_ptr<CloudStore> open(const CloudLimits& limits = {}) const {
    return idvault::cloud::open_cloud_store(where_, limits);
  }

  idvault::testing::TempDir dir_{"idvault-cloud-store"};
  std::string where_;
  std::unique_ptr<CloudStore> store_;
};

INSTANTIATE_TEST_SUITE_P(BothBackEnds, CloudStoreBehaviour,
                         ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(CloudStoreBehaviour, UsesTheBackEndItsWhereNames) {
  const bool postgres_store =
      dynamic_cast<idvault::cloud::PostgresCloudStore*>(store_.get()) != nullptr;
  EXPECT_EQ(postgres_store, GetParam() == "postgresql");
}

TEST_P(CloudStoreBehaviour, AnAccountIsCreatedOnceWithItsGenesis) {
  EXPECT_FALSE(store_->has_account(kAlice));
  store_->create_account(kAlice, bytes("genesis"));
  EXPECT_TRUE(store_->has_account(kAlice));
  const auto entries = store_->log(kAlice, 0);
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].seq, 0);
  EXPECT_EQ(entries[0].bytes, bytes("genesis"));
  EXPECT_EQ(store_->counter(kAlice), 1);
  EXPECT_EQ(store_->bytes_used(kAlice), 7);
  EXPECT_THROW(store_->create_account(kAlice, bytes("another genesis")),
               idvault::cloud::AccountExists);
  EXPECT_EQ(store_->log(kAlice, 0)[0].bytes, bytes("genesis"));

  // An account never created: every call says so, none creates it.
  EXPECT_THROW((void)store_->log(kBob, 0), idvault::cloud::UnknownAccount);
  EXPECT_THROW((void)store_->append_log_entry(kBob, 0, bytes("x")), idvault::cloud::UnknownAccount);
  EXPECT_THROW((void)store_->put_item(kBob, write("passport", "r1", "", bytes("x"))),
               idvault::cloud::UnknownAccount);
  EXPECT_THROW(store_->put_slot(kBob, "s", bytes("x")), idvault::cloud::UnknownAccount);
  EXPECT_THROW((void)store_->counter(kBob), idvault::cloud::UnknownAccount);
  EXPECT_FALSE(store_->has_account(kBob));
  // Ids from requests are checked before any query: no path can hide in one.
  for (const std::string& bad :
       std::vector<std::string>{"", "ABCD", "../etc", "aa/bb", std::string(129, 'a')})
    EXPECT_THROW(store_->create_account(bad, bytes("g")), std::invalid_argument) << bad;
  EXPECT_THROW(store_->put_slot(kAlice, "two words", bytes("x")), std::invalid_argument);
}

TEST_P(CloudStoreBehaviour, TheLogGrowsOnlyAtItsEnd) {
  store_->create_account(kAlice, bytes("genesis"));
  EXPECT_FALSE(store_->append_log_entry(kAlice, 1, kAwkward).has_value());
  for (const std::int64_t wrong : {0, 1, 5}) {
    const auto conflict = store_->append_log_entry(kAlice, wrong, bytes("late"));
    ASSERT_TRUE(conflict.has_value()) << wrong;
    EXPECT_EQ(conflict->length, 2) << wrong;
  }
  EXPECT_THROW((void)store_->append_log_entry(kAlice, -1, bytes("x")), std::invalid_argument);
  EXPECT_FALSE(store_->append_log_entry(kAlice, 2, bytes("device-add")).has_value());
  const auto tail = store_->log(kAlice, 1);
  ASSERT_EQ(tail.size(), 2U);
  EXPECT_EQ(tail[0].seq, 1);
  EXPECT_EQ(tail[0].bytes, kAwkward);
  EXPECT_EQ(tail[1].bytes, bytes("device-add"));
  EXPECT_TRUE(store_->log(kAlice, 3).empty());
  EXPECT_EQ(store_->counter(kAlice), 3);  // the refused appends counted nothing
}

TEST_P(CloudStoreBehaviour, OfRacingAppendsOfOneSeqExactlyOneLands) {
  store_->create_account(kAlice, bytes("genesis"));
  constexpr int kDevices = 6;
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    std::barrier start(kDevices);
    std::atomic<int> landed{0};
    std::atomic<int> winner{-1};
    std::atomic<int> told_length{0};
    std::vector<std::thread> devices;
    devices.reserve(kDevices);
    for (int d = 0; d < kDevices; ++d) {
      devices.emplace_back([&, d] {
        start.arrive_and_wait();
        const auto conflict =
            store_->append_log_entry(kAlice, seq, bytes("entry from device " + std::to_string(d)));
        if (!conflict) {
          ++landed;
          winner = d;
        } else if (conflict->length == seq + 1) {
          ++told_length;
        }
      });
    }
    for (auto& device : devices) device.join();
    EXPECT_EQ(landed.load(), 1) << "seq " << seq;
    EXPECT_EQ(told_length.load(), kDevices - 1) << "seq " << seq;
    const auto entries = store_->log(kAlice, seq);
    ASSERT_EQ(entries.size(), 1U);
    EXPECT_EQ(entries[0].bytes, bytes("entry from device " + std::to_string(winner.load())));
  }
  EXPECT_EQ(store_->log(kAlice, 0).size(), 4U);
  EXPECT_EQ(store_->counter(kAlice), 4);
}

TEST_P(CloudStoreBehaviour, SlotsArePutReplacedAndRemoved) {
  store_->create_account(kAlice, bytes("g"));
  EXPECT_TRUE(store_->slots(kAlice).empty());
  store_->put_slot(kAlice, "device-1", bytes("sealed to device 1"));
  store_->put_slot(kAlice, "recovery", kAwkward);
  store_->put_slot(kAlice, "device-1", bytes("sealed again"));
  auto found = store_->slots(kAlice);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].slot_id, "device-1");
  EXPECT_EQ(found[0].bytes, bytes("sealed again"));
  EXPECT_EQ(found[1].bytes, kAwkward);
  EXPECT_EQ(store_->bytes_used(kAlice), 1 + 12 + 6);
  EXPECT_TRUE(store_->remove_slot(kAlice, "device-1"));
  EXPECT_FALSE(store_->remove_slot(kAlice, "device-1"));
  found = store_->slots(kAlice);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].slot_id, "recovery");
  EXPECT_EQ(store_->bytes_used(kAlice), 1 + 6);
  EXPECT_EQ(store_->counter(kAlice), 5);  // genesis, three puts, one removal
}

TEST_P(CloudStoreBehaviour, AnItemIsWrittenOnlyOnTopOfItsStoredRevision) {
  store_->create_account(kAlice, bytes("g"));
  // A first write names no parent; one that names a parent finds no item.
  auto conflict = store_->put_item(kAlice, write("passport", "r1", "r0", bytes("v0")));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_revision, "");
  EXPECT_FALSE(store_->item(kAlice, "passport").has_value());
  EXPECT_FALSE(store_->put_item(kAlice, write("passport", "r1", "", kAwkward)).has_value());
  EXPECT_FALSE(store_->put_item(kAlice, write("passport", "r2", "r1", bytes("v2"))).has_value());

  // Another device still on r1: the server's 409, with what is there now.
  conflict = store_->put_item(kAlice, write("passport", "r2b", "r1", bytes("stale")));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_revision, "r2");
  EXPECT_FALSE(conflict->current_deleted);
  conflict = store_->put_item(kAlice, write("passport", "r9", "", bytes("as if new")));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_revision, "r2");

  auto stored = store_->item(kAlice, "passport");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->revision, "r2");
  EXPECT_EQ(stored->parent_revision, "r1");
  EXPECT_EQ(stored->bytes, bytes("v2"));
  EXPECT_FALSE(stored->deleted);

  // A delete is a tombstone under the same rule.
  EXPECT_FALSE(
      store_->put_item(kAlice, write("passport", "r3", "r2", bytes("tomb"), true)).has_value());
  stored = store_->item(kAlice, "passport");
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->deleted);
  EXPECT_EQ(stored->revision, "r3");
  conflict = store_->put_item(kAlice, write("passport", "r3b", "r2", bytes("edit of r2")));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_revision, "r3");
  EXPECT_TRUE(conflict->current_deleted);
  // Written again on top of its tombstone.
  EXPECT_FALSE(store_->put_item(kAlice, write("passport", "r4", "r3", bytes("back"))).has_value());
  EXPECT_FALSE(store_->item(kAlice, "passport")->deleted);
  EXPECT_EQ(store_->bytes_used(kAlice), 1 + 4);
  EXPECT_THROW((void)store_->put_item(kAlice, write("passport", "r4", "r4", bytes("x"))),
               std::invalid_argument);
  EXPECT_THROW((void)store_->put_item(kAlice, write("passport", "", "r4", bytes("x"))),
               std::invalid_argument);
}

TEST_P(CloudStoreBehaviour, OfRacingWritesOnOneParentExactlyOneLands) {
  store_->create_account(kAlice, bytes("g"));
  ASSERT_FALSE(store_->put_item(kAlice, write("email", "r1", "", bytes("v1"))).has_value());
  constexpr int kDevices = 6;
  std::barrier start(kDevices);
  std::atomic<int> landed{0};
  std::vector<std::string> told(kDevices);
  std::vector<std::thread> devices;
  devices.reserve(kDevices);
  for (int d = 0; d < kDevices; ++d) {
    devices.emplace_back([&, d] {
      start.arrive_and_wait();
      const auto conflict = store_->put_item(kAlice, write("email", "r2-" + std::to_string(d), "r1",
                                                           bytes("from " + std::to_string(d))));
      if (conflict) {
        told[d] = conflict->current_revision;
      } else {
        ++landed;
      }
    });
  }
  for (auto& device : devices) device.join();
  EXPECT_EQ(landed.load(), 1);
  const std::string now = store_->item(kAlice, "email")->revision;
  EXPECT_EQ(std::count(told.begin(), told.end(), now), kDevices - 1);
}

TEST_P(CloudStoreBehaviour, AFileIsStoredOnlyUnderItsOwnHash) {
  store_->create_account(kAlice, bytes("g"));
  const Bytes scan(70000, 0xa5);
  const std::string name = idvault::cloud::sha256_hex(scan);
  EXPECT_FALSE(store_->has_file(kAlice, name));
  EXPECT_FALSE(store_->file(kAlice, name).has_value());
  store_->put_file(kAlice, name, scan);
  EXPECT_TRUE(store_->has_file(kAlice, name));
  EXPECT_EQ(store_->file(kAlice, name), scan);
  const std::int64_t counter = store_->counter(kAlice);
  store_->put_file(kAlice, name, scan);  // again: nothing new
  EXPECT_EQ(store_->counter(kAlice), counter);
  EXPECT_EQ(store_->bytes_used(kAlice), 1 + 70000);

  // Bytes under another file's name, or a changed byte: refused, nothing stored.
  const std::string other = idvault::cloud::sha256_hex(kAwkward);
  EXPECT_THROW(store_->put_file(kAlice, other, scan), idvault::cloud::FileHashMismatch);
  Bytes tampered = scan;
  tampered[100] ^= 1;
  EXPECT_THROW(store_->put_file(kAlice, idvault::cloud::sha256_hex(scan), tampered),
               idvault::cloud::FileHashMismatch);
  EXPECT_EQ(store_->file(kAlice, name), scan);
  EXPECT_FALSE(store_->has_file(kAlice, other));
  EXPECT_EQ(store_->counter(kAlice), counter);
  // A name that is not a lowercase SHA-256 is no file.
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_THROW(store_->put_file(kAlice, upper, scan), std::invalid_argument);
  EXPECT_THROW(store_->put_file(kAlice, "../" + name.substr(3), scan), std::invalid_argument);
  EXPECT_FALSE(store_->has_file(kAlice, "../cloud.db"));
  EXPECT_FALSE(store_->file(kAlice, "../cloud.db").has_value());
  store_->put_file(kAlice, other, kAwkward);
  EXPECT_EQ(store_->file(kAlice, other), kAwkward);
}

// An upload as it arrives (receive_file, then put_file of what came in): the quota is
// weighed by the declared size before any byte, bytes that do not hash to the name are
// refused and leave nothing, and a file already stored is only hashed.
TEST_P(CloudStoreBehaviour, AStreamedUploadIsWeighedFirstAndKeptOnlyWhenItIsItsName) {
  CloudLimits limits;
  limits.account_bytes = 100'000;
  const auto small = open(limits);
  small->create_account(kAlice, bytes("g"));
  const Bytes scan(60'000, 0x3c);
  const std::string name = idvault::cloud::sha256_hex(scan);
  EXPECT_THROW((void)small->receive_file(kAlice, name, 100'000), idvault::cloud::QuotaExceeded);
  EXPECT_THROW((void)small->receive_file(kBob, name, 10), idvault::cloud::UnknownAccount);

  const std::int64_t counter = small->counter(kAlice);
  {
    auto wrong = small->receive_file(kAlice, name, scan.size());
    ASSERT_TRUE(wrong->kept());
    wrong->write(std::span(scan).first(30'000));
    const Bytes other(30'000, 0x11);
    wrong->write(other);
    EXPECT_THROW(small->put_file(kAlice, name, *wrong), idvault::cloud::FileHashMismatch);
  }
  EXPECT_FALSE(small->has_file(kAlice, name));
  EXPECT_EQ(small->counter(kAlice), counter);
  if (GetParam() == "sqlite") {
    EXPECT_TRUE(std::filesystem::is_empty(dir_ / "data" / "files" / kAlice))
        << "a refused upload's temporary stays behind";
  }

  auto upload = small->receive_file(kAlice, name, scan.size());
  upload->write(std::span(scan).first(1000));
  upload->write(std::span(scan).subspan(1000));
  small->put_file(kAlice, name, *upload);
  EXPECT_EQ(small->file(kAlice, name), scan);
  EXPECT_EQ(small->bytes_used(kAlice), 1 + 60'000);
  // Stored already: the same upload again is only hashed, and costs no quota.
  auto again = small->receive_file(kAlice, name, scan.size());
  EXPECT_FALSE(again->kept());
  again->write(scan);
  small->put_file(kAlice, name, *again);
  EXPECT_EQ(small->bytes_used(kAlice), 1 + 60'000);
  if (GetParam() == "sqlite") {
    ASSERT_TRUE(small->file_on_disk(kAlice, name).has_value());
    EXPECT_EQ(std::filesystem::file_size(*small->file_on_disk(kAlice, name)), scan.size());
  } else {
    EXPECT_FALSE(small->file_on_disk(kAlice, name).has_value());
  }
}

TEST_P(CloudStoreBehaviour, RacingUploadsOfOneFileStoreItOnce) {
  store_->create_account(kAlice, bytes("g"));
  const Bytes scan(200000, 0x3c);
  const std::string name = idvault::cloud::sha256_hex(scan);
  constexpr int kCopies = 4;
  std::barrier start(kCopies);
  std::vector<std::thread> copies;
  copies.reserve(kCopies);
  for (int i = 0; i < kCopies; ++i) {
    copies.emplace_back([&] {
      start.arrive_and_wait();
      store_->put_file(kAlice, name, scan);
    });
  }
  for (auto& copy : copies) copy.join();
  EXPECT_EQ(store_->file(kAlice, name), scan);
  EXPECT_EQ(store_->counter(kAlice), 2);
  EXPECT_EQ(store_->bytes_used(kAlice), 1 + 200000);
}

TEST_P(CloudStoreBehaviour, TheCounterListsWhatChangedOnceWithItsLatestChange) {
  store_->create_account(kAlice, bytes("g"));                                // 1: log 0
  (void)store_->put_item(kAlice, write("passport", "r1", "", bytes("v1")));  // 2
  store_->put_slot(kAlice, "device-1", bytes("s"));                          // 3
  const Bytes scan = bytes("scan");
  store_->put_file(kAlice, idvault::cloud::sha256_hex(scan), scan);               // 4
  (void)store_->append_log_entry(kAlice, 1, bytes("device-add"));                 // 5
  (void)store_->put_item(kAlice, write("email", "e1", "", bytes("e")));           // 6
  (void)store_->put_item(kAlice, write("passport", "r2", "r1", bytes("v2")));     // 7
  (void)store_->put_item(kAlice, write("passport", "rX", "r1", bytes("stale")));  // refused
  EXPECT_TRUE(store_->remove_slot(kAlice, "device-1"));                           // 8
  EXPECT_EQ(store_->counter(kAlice), 8);

  const auto all = store_->changes_since(kAlice, 0, 100);
  const std::vector<std::tuple<ChangeKind, std::string, std::int64_t>> expected{
      {ChangeKind::log, "0", 1},         {ChangeKind::file, idvault::cloud::sha256_hex(scan), 4},
      {ChangeKind::log, "1", 5},         {ChangeKind::item, "email", 6},
      {ChangeKind::item, "passport", 7}, {ChangeKind::slot, "device-1", 8}};
  ASSERT_EQ(all.size(), expected.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(
        std::tie(all[i].kind, all[i].id, all[i].counter),
        std::tie(std::get<0>(expected[i]), std::get<1>(expected[i]), std::get<2>(expected[i])))
        << i;
  }
  // A device that saw counter 5 pulls the rest, a page at a time.
  const auto page = store_->changes_since(kAlice, 5, 2);
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].id, "email");
  EXPECT_EQ(page[1].id, "passport");
  const auto rest = store_->changes_since(kAlice, page.back().counter, 2);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].kind, ChangeKind::slot);
  EXPECT_TRUE(store_->changes_since(kAlice, 8, 100).empty());
  EXPECT_EQ(store_->changes_since(kAlice, 0, SIZE_MAX).size(), expected.size());
  EXPECT_TRUE(store_->changes_since(kAlice, 0, 0).empty());
}

TEST_P(CloudStoreBehaviour, AWritePastTheQuotaIsRefusedAndChangesNothing) {
  const auto small = open(CloudLimits{1000});
  EXPECT_THROW(small->create_account(kBob, Bytes(1001, 1)), idvault::cloud::QuotaExceeded);
  EXPECT_FALSE(small->has_account(kBob));
  small->create_account(kAlice, Bytes(100, 1));
  ASSERT_FALSE(small->put_item(kAlice, write("passport", "r1", "", Bytes(500, 2))).has_value());
  const Bytes scan(401, 3);
  try {
    small->put_file(kAlice, idvault::cloud::sha256_hex(scan), scan);
    ADD_FAILURE() << "a file past the quota was stored";
  } catch (const idvault::cloud::QuotaExceeded& e) {
    EXPECT_EQ(e.used, 600);
    EXPECT_EQ(e.needed, 401);
    EXPECT_EQ(e.limit, 1000);
  }
  EXPECT_FALSE(small->has_file(kAlice, idvault::cloud::sha256_hex(scan)));
  EXPECT_THROW(small->put_slot(kAlice, "s", Bytes(401, 4)), idvault::cloud::QuotaExceeded);
  EXPECT_THROW((void)small->put_item(kAlice, write("passport", "r2", "r1", Bytes(901, 2))),
               idvault::cloud::QuotaExceeded);
  EXPECT_EQ(small->item(kAlice, "passport")->revision, "r1");
  EXPECT_EQ(small->bytes_used(kAlice), 600);
  EXPECT_EQ(small->counter(kAlice), 2);
  // Up to the limit exactly is allowed; then one byte more is not.
  small->put_slot(kAlice, "s", Bytes(400, 4));
  EXPECT_EQ(small->bytes_used(kAlice), 1000);
  EXPECT_THROW((void)small->append_log_entry(kAlice, 1, Bytes(1, 5)),
               idvault::cloud::QuotaExceeded);
  EXPECT_EQ(small->log(kAlice, 0).size(), 1U);
  // A tombstone gives room back, and the log entry fits.
  ASSERT_FALSE(
      small->put_item(kAlice, write("passport", "r2", "r1", Bytes(10, 0), true)).has_value());
  EXPECT_EQ(small->bytes_used(kAlice), 510);
  EXPECT_FALSE(small->append_log_entry(kAlice, 1, Bytes(1, 5)).has_value());
}

TEST_P(CloudStoreBehaviour, ANonceIsAcceptedOnceUntilItExpires) {
  EXPECT_TRUE(store_->remember_nonce("device-1", "n1", 1100, 1000));
  EXPECT_FALSE(store_->remember_nonce("device-1", "n1", 1200, 1050));  // a replay
  EXPECT_FALSE(store_->remember_nonce("device-1", "n1", 1200, 1099));
  EXPECT_TRUE(store_->remember_nonce("device-2", "n1", 1100, 1050));  // another device's
  EXPECT_TRUE(store_->remember_nonce("device-1", "n2", 1100, 1050));
  // Expired: a request carrying it is refused for its time; the nonce itself is free again.
  EXPECT_TRUE(store_->remember_nonce("device-1", "n1", 1300, 1100));
  EXPECT_FALSE(store_->remember_nonce("device-1", "n1", 1400, 1200));
  EXPECT_EQ(store_->purge_nonces(1100), 2U);  // device-2's n1 and device-1's n2
  EXPECT_FALSE(store_->remember_nonce("device-1", "n1", 1400, 1250));
  EXPECT_EQ(store_->purge_nonces(1300), 1U);
  EXPECT_TRUE(store_->remember_nonce("device-1", "n1", 1400, 1301));

  // Racing copies of one signed request: exactly one passes.
  constexpr int kCopies = 6;
  std::barrier start(kCopies);
  std::atomic<int> passed{0};
  std::vector<std::thread> copies;
  copies.reserve(kCopies);
  for (int i = 0; i < kCopies; ++i) {
    copies.emplace_back([&] {
      start.arrive_and_wait();
      if (store_->remember_nonce("device-3", "raced", 2000, 1500)) ++passed;
    });
  }
  for (auto& copy : copies) copy.join();
  EXPECT_EQ(passed.load(), 1);
}

TEST_P(CloudStoreBehaviour, TwoAccountsNeverSeeEachOthersRows) {
  store_->create_account(kAlice, bytes("alice genesis"));
  store_->create_account(kBob, bytes("bob genesis"));
  ASSERT_FALSE(store_->put_item(kAlice, write("passport", "a1", "", bytes("alice's"))).has_value());
  store_->put_slot(kAlice, "device-1", bytes("alice's slot"));
  const Bytes scan = bytes("alice's scan");
  const std::string name = idvault::cloud::sha256_hex(scan);
  store_->put_file(kAlice, name, scan);
  ASSERT_FALSE(store_->append_log_entry(kAlice, 1, bytes("alice's device-add")).has_value());

  EXPECT_FALSE(store_->item(kBob, "passport").has_value());
  EXPECT_TRUE(store_->slots(kBob).empty());
  EXPECT_FALSE(store_->has_file(kBob, name));
  EXPECT_FALSE(store_->file(kBob, name).has_value());
  EXPECT_FALSE(store_->remove_slot(kBob, "device-1"));
  ASSERT_EQ(store_->log(kBob, 0).size(), 1U);
  EXPECT_EQ(store_->log(kBob, 0)[0].bytes, bytes("bob genesis"));
  EXPECT_EQ(store_->counter(kBob), 1);
  EXPECT_EQ(store_->changes_since(kBob, 0, 100).size(), 1U);
  EXPECT_EQ(store_->bytes_used(kBob), 11);
  // Alice's revision means nothing in Bob's account; Bob's seq 1 is his own.
  const auto conflict = store_->put_item(kBob, write("passport", "b2", "a1", bytes("bob's")));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_revision, "");
  EXPECT_FALSE(store_->append_log_entry(kBob, 1, bytes("bob's device-add")).has_value());
  // Bob's own writes of the same names leave Alice's alone.
  ASSERT_FALSE(store_->put_item(kBob, write("passport", "b1", "", bytes("bob's"))).has_value());
  store_->put_file(kBob, name, scan);
  EXPECT_TRUE(store_->remove_slot(kAlice, "device-1"));
  EXPECT_EQ(store_->item(kAlice, "passport")->bytes, bytes("alice's"));
  EXPECT_EQ(store_->log(kAlice, 1)[0].bytes, bytes("alice's device-add"));
  EXPECT_EQ(store_->item(kBob, "passport")->bytes, bytes("bob's"));
}

idvault::cloud::JoinRequest join(const std::string& id, std::int64_t created,
                                 std::int64_t expires) {
  return {id, "laptop", bytes("identity key"), kAwkward, std::string(32, 'c'), created, expires};
}

TEST_P(CloudStoreBehaviour, JoinRequestsArePendingUntilTheyExpire) {
  store_->create_account(kAlice, bytes("alice genesis"));
  store_->create_account(kBob, bytes("bob genesis"));
  EXPECT_THROW((void)store_->add_join_request(kAlice + "0", join("r0", 1000, 1900), 3),
               idvault::cloud::UnknownAccount);
  EXPECT_FALSE(store_->add_join_request(kAlice, join("r1", 1000, 1900), 3).has_value());
  EXPECT_FALSE(store_->add_join_request(kAlice, join("r2", 1100, 2000), 3).has_value());
  EXPECT_FALSE(store_->add_join_request(kAlice, join("r3", 1200, 2100), 3).has_value());
  // Full: refused with the first expiry; once r1 has lapsed there is room again.
  const auto full = store_->add_join_request(kAlice, join("r4", 1300, 2200), 3);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->first_expiry, 1900);
  EXPECT_FALSE(store_->add_join_request(kAlice, join("r4", 1900, 2800), 3).has_value());
  // Bob's account is its own: none of Alice's is his, his count is his.
  EXPECT_FALSE(store_->add_join_request(kBob, join("b1", 1300, 2200), 1).has_value());
  EXPECT_TRUE(store_->join_requests(kBob, 1300).size() == 1U);
  EXPECT_FALSE(store_->join_request(kBob, "r2").has_value());
  EXPECT_FALSE(store_->remove_join_request(kBob, "r2"));

  const auto pending = store_->join_requests(kAlice, 1950);
  ASSERT_EQ(pending.size(), 3U);
  EXPECT_EQ(pending[0].id, "r2");
  EXPECT_EQ(pending[0].slot_key, kAwkward);
  EXPECT_EQ(pending[0].identity_key, bytes("identity key"));
  EXPECT_EQ(pending[0].created, 1100);
  EXPECT_EQ(pending[0].expires, 2000);
  // An expired one is still read by id until it is purged.
  ASSERT_TRUE(store_->join_request(kAlice, "r1").has_value());
  EXPECT_EQ(store_->join_request(kAlice, "r1")->expires, 1900);
  EXPECT_TRUE(store_->remove_join_request(kAlice, "r2"));
  EXPECT_FALSE(store_->remove_join_request(kAlice, "r2"));
  EXPECT_EQ(store_->purge_join_requests(1900), 1U);  // r1
  EXPECT_FALSE(store_->join_request(kAlice, "r1").has_value());
  EXPECT_EQ(store_->join_requests(kAlice, 0).size(), 2U);  // r3, r4
  EXPECT_THROW((void)store_->add_join_request(kAlice, join("bad id", 1, 2), 3),
               std::invalid_argument);
}

TEST_P(CloudStoreBehaviour, TheRecoveryKeyIsPutWholeAndIsTheAccountsOwn) {
  store_->create_account(kAlice, bytes("alice genesis"));
  store_->create_account(kBob, bytes("bob genesis"));
  EXPECT_FALSE(store_->recovery_key(kAlice).has_value());
  store_->put_recovery_key(kAlice, kAwkward);
  EXPECT_EQ(store_->recovery_key(kAlice), kAwkward);
  store_->put_recovery_key(kAlice, bytes("resealed"));
  EXPECT_EQ(store_->recovery_key(kAlice), bytes("resealed"));
  EXPECT_FALSE(store_->recovery_key(kBob).has_value());
  EXPECT_THROW(store_->put_recovery_key(kAlice + "0", kAwkward), idvault::cloud::UnknownAccount);
}

TEST_P(CloudStoreBehaviour, AStoreOpenedAgainKeepsEverything) {
  store_->create_account(kAlice, bytes("genesis"));
  ASSERT_FALSE(store_->append_log_entry(kAlice, 1, kAwkward).has_value());
  store_->put_slot(kAlice, "recovery", bytes("sealed"));
  ASSERT_FALSE(store_->put_item(kAlice, write("passport", "r1", "", kAwkward)).has_value());
  const Bytes scan(5000, 0x5c);
  const std::string name = idvault::cloud::sha256_hex(scan);
  store_->put_file(kAlice, name, scan);
  ASSERT_TRUE(store_->remember_nonce("device-1", "n1", 2000, 1000));
  const auto changes = store_->changes_since(kAlice, 0, 100);
  store_.reset();

  const auto reopened = open();  // the tables exist: kept
  EXPECT_TRUE(reopened->has_account(kAlice));
  const auto entries = reopened->log(kAlice, 0);
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[1].bytes, kAwkward);
  ASSERT_EQ(reopened->slots(kAlice).size(), 1U);
  EXPECT_EQ(reopened->slots(kAlice)[0].bytes, bytes("sealed"));
  EXPECT_EQ(reopened->item(kAlice, "passport")->bytes, kAwkward);
  EXPECT_EQ(reopened->file(kAlice, name), scan);
  EXPECT_EQ(reopened->counter(kAlice), 5);
  EXPECT_EQ(reopened->bytes_used(kAlice), 7 + 6 + 6 + 6 + 5000);
  EXPECT_EQ(reopened->changes_since(kAlice, 0, 100).size(), changes.size());
  EXPECT_FALSE(reopened->remember_nonce("device-1", "n1", 2000, 1500));
  EXPECT_THROW(reopened->create_account(kAlice, bytes("genesis")), idvault::cloud::AccountExists);
  EXPECT_TRUE(reopened->append_log_entry(kAlice, 1, bytes("x")).has_value());
  EXPECT_TRUE(reopened->put_item(kAlice, write("passport", "r2", "", bytes("x"))).has_value());
}

std::string mode_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%o", st.st_mode & 0777);
  return mode;
}

// Under umask 0 anything created with a wider mode would keep it: every mode read back
// is the one the store created the file or folder with, not a chmod made afterwards.
TEST(SqliteCloudStoreFiles, AreCreatedPrivateWhateverTheUmask) {
  idvault::testing::TempDir dir("idvault-cloud-store");
  const auto data = dir / "data";
  const mode_t previous = ::umask(0);
  std::string file;
  {
    idvault::cloud::SqliteCloudStore store(data);
    store.create_account(kAlice, bytes("g"));
    const Bytes scan(3000, 7);
    const std::string name = idvault::cloud::sha256_hex(scan);
    store.put_file(kAlice, name, scan);
    file = store.file_path(kAlice, name).string();
    EXPECT_EQ(mode_of(data / "cloud.db-wal"), "600");
    EXPECT_EQ(mode_of(data / "cloud.db-shm"), "600");
  }
  ::umask(previous);
  EXPECT_EQ(mode_of(data), "700");
  EXPECT_EQ(mode_of(data / "cloud.db"), "600");
  EXPECT_EQ(mode_of(data / "files"), "700");
  EXPECT_EQ(mode_of(data / "files" / kAlice), "700");
  EXPECT_EQ(mode_of(file), "600");
  EXPECT_EQ(file, (data / "files" / kAlice / idvault::cloud::sha256_hex(Bytes(3000, 7))).string());
  // Nothing half-written left beside it.
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data / "files" / kAlice)) {
    EXPECT_EQ(entry.path().filename().string().rfind(".incoming-", 0), std::string::npos);
    ++entries;
  }
  EXPECT_EQ(entries, 1U);
}

// A crash between writing a file's temporary and listing it leaves the temporary: it was
// never acknowledged, and the next open removes it.
TEST(SqliteCloudStoreFiles, ATemporaryACrashLeftIsRemovedAtOpen) {
  idvault::testing::TempDir dir("idvault-cloud-store");
  const auto data = dir / "data";
  const Bytes scan(100, 9);
  const std::string name = idvault::cloud::sha256_hex(scan);
  {
    idvault::cloud::SqliteCloudStore store(data);
    store.create_account(kAlice, bytes("g"));
    store.put_file(kAlice, name, scan);
  }
  const auto left = data / "files" / kAlice / ".incoming-Ab12Cd";
  std::ofstream(left) << "half a file";
  ASSERT_TRUE(std::filesystem::exists(left));
  idvault::cloud::SqliteCloudStore store(data);
  EXPECT_FALSE(std::filesystem::exists(left));
  EXPECT_EQ(store.file(kAlice, name), scan);
}

TEST(SqliteCloudStoreFiles, AnExistingDataDirectoryIsMadePrivate) {
  idvault::testing::TempDir dir("idvault-cloud-store");
  const auto data = dir / "data";
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(data.c_str(), 0755), 0);
  idvault::cloud::SqliteCloudStore store(data);
  EXPECT_EQ(mode_of(data), "700");
  // A symbolic link where the files folder belongs is refused, not followed.
  idvault::testing::TempDir other("idvault-cloud-store");
  const auto linked = dir / "linked";
  ASSERT_EQ(::mkdir(linked.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(other.path().c_str(), (linked / "files").c_str()), 0);
  EXPECT_THROW(idvault::cloud::SqliteCloudStore{linked}, std::runtime_error);
}

}  // namespace
