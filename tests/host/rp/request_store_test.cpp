// The request store, the same behaviour on both back-ends (SQLite in a file, PostgreSQL
// on a private server this process starts): nonces issued and claimed once, results and
// files stored, the pickup time, purge; then PostgreSQL's claim under racing workers.
//
// And the SQLite store's files: private from the first byte. A VFS wrapped around
// SQLite's own looks at the database, its -wal and its -shm at every file SQLite opens or
// checks for, so a file that exists even for a moment with a wider mode is caught,
// whatever chmod comes later.
#include "host/rp/service/request_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <barrier>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "host/rp/service/known_account_log.h"
#include "host/rp/service/postgres_request_store.h"
#include "host/rp/service/sqlite_request_store.h"
#include "host/rp/share/share_intake.h"
#include "tests/support/missing_peer.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"

namespace {

struct ModeWatch {
  static inline sqlite3_vfs* real = nullptr;
  static inline std::string database;
  static inline std::vector<std::string> seen;  // "rp.db-wal 644", one per look and file

  static void look() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      struct stat st {};
      if (::stat((database + suffix).c_str(), &st) == 0) {
        char mode[8];
        std::snprintf(mode, sizeof(mode), "%o", st.st_mode & 0777);
        seen.push_back(std::string("rp.db") + suffix + " " + mode);
      }
    }
  }
  static int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out) {
    const int rc = real->xOpen(real, name, file, flags, out);
    look();
    return rc;
  }
  static int access(sqlite3_vfs*, const char* name, int flags, int* out) {
    look();
    return real->xAccess(real, name, flags, out);
  }
};

}  // namespace

TEST(RequestStoreFiles, TheDatabaseAndItsWalAndShmArePrivateFromTheFirstByteWhateverTheUmask) {
  idvault::testing::TempDir dir("idvault-rp-store");
  ASSERT_EQ(sqlite3_initialize(), SQLITE_OK);
  ModeWatch::real = sqlite3_vfs_find(nullptr);
  ModeWatch::database = (dir / "rp.db").string();
  sqlite3_vfs watch = *ModeWatch::real;
  watch.zName = "idvault-mode-watch";
  watch.xOpen = ModeWatch::open;
  watch.xAccess = ModeWatch::access;
  ASSERT_EQ(sqlite3_vfs_register(&watch, 1), SQLITE_OK);
  // A permissive umask, as a service's shell may have.
  const mode_t previous = ::umask(022);
  {
    idvault::rp::SqliteRequestStore store(dir / "rp.db");  // creates its tables: -wal and -shm too
    ModeWatch::look();
  }
  ::umask(previous);
  sqlite3_vfs_unregister(&watch);

  bool wal = false;
  bool shm = false;
  for (const std::string& entry : ModeWatch::seen) {
    EXPECT_EQ(entry.substr(entry.find(' ')), " 600") << entry;
    wal = wal || entry.rfind("rp.db-wal", 0) == 0;
    shm = shm || entry.rfind("rp.db-shm", 0) == 0;
  }
  EXPECT_TRUE(wal && shm) << "the store made no -wal or -shm to look at";
}

namespace {

using idvault::rp::ClaimOutcome;
using idvault::rp::ReceivedResult;
using idvault::rp::RequestStore;
using idvault::rp::StoredFile;

// One server for the whole process (ctest runs each case in its own), one database per
// store made.
idvault::testing::PostgresServer& postgres() {
  static const auto server = std::make_unique<idvault::testing::PostgresServer>();
  return *server;
}

std::string fresh_database(const std::string& prefix) {
  static int made = 0;
  return postgres().create_database(prefix + std::to_string(++made));
}

class RequestStoreBehaviour : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (!idvault::testing::PostgresServer::available())
        IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
      db_ = fresh_database("rp");
    } else {
      db_ = (dir_ / "rp.db").string();
    }
    store_ = idvault::rp::open_request_store(db_);
  }

  idvault::testing::TempDir dir_{"idvault-rp-store"};
  std::string db_;
  std::unique_ptr<RequestStore> store_;
  const idvault::rp::BundleKey bundle_{"c1", "body-1"};
  const idvault::rp::BundleKey same_credentials_other_body_{"c1", "body-2"};
};

std::vector<std::uint8_t> bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

// The store keeps what it is given (sealed by the caller: result_sealer.h) byte for byte.
const ReceivedResult& sample_result() {
  static const ReceivedResult result{bytes("wrapped-key"), bytes(R"({"elements":["passport"]})"),
                                     bytes("null"), 0};
  return result;
}
// Bytes a text column would mangle: NUL, high bytes, a backslash.
const std::vector<StoredFile> kFiles{{"front", {0x00, 0xff, 0x5c, 0x78, 0x01, 0x00}},
                                     {"selfie", std::vector<std::uint8_t>(70000, 0xa5)}};

TEST_P(RequestStoreBehaviour, UsesTheBackEndItsDbNames) {
  const bool postgres_store =
      dynamic_cast<idvault::rp::PostgresRequestStore*>(store_.get()) != nullptr;
  EXPECT_EQ(postgres_store, GetParam() == "postgresql");
}

TEST_P(RequestStoreBehaviour, AnIssuedRequestIsKnownWithItsReadTokenAndUnanswered) {
  store_->add_request("n1", "digest-1", 1000);
  EXPECT_TRUE(store_->has_request("n1"));
  EXPECT_FALSE(store_->has_request("n2"));
  const auto issued = store_->request("n1");
  ASSERT_TRUE(issued.has_value());
  EXPECT_EQ(issued->read_token_sha256, "digest-1");
  EXPECT_FALSE(issued->answered);
  EXPECT_FALSE(issued->picked_up_at.has_value());
  EXPECT_FALSE(store_->request("n2").has_value());
  EXPECT_FALSE(store_->result("n1").has_value());
  EXPECT_ANY_THROW(store_->add_request("n1", "digest-again", 1001));  // a nonce is issued once
}

TEST_P(RequestStoreBehaviour, ANonceIsClaimedOnceWithItsResultAndFiles) {
  store_->add_request("n1", "d", 1000);
  EXPECT_EQ(store_->claim_and_store("n1", 1010, 600, sample_result(), kFiles),
            ClaimOutcome::claimed);
  const auto stored = store_->result("n1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->wrapped_key, sample_result().wrapped_key);
  EXPECT_EQ(stored->report, sample_result().report);
  EXPECT_EQ(stored->errors, bytes("null"));
  EXPECT_EQ(stored->received_at, 1010);
  // A file comes with its result's wrapped data key.
  EXPECT_EQ(store_->file("n1", "front")->bytes, kFiles[0].bytes);
  EXPECT_EQ(store_->file("n1", "front")->wrapped_key, sample_result().wrapped_key);
  EXPECT_EQ(store_->file("n1", "selfie")->bytes, kFiles[1].bytes);
  EXPECT_FALSE(store_->file("n1", "back").has_value());
  EXPECT_FALSE(store_->file("n2", "front").has_value());
  EXPECT_TRUE(store_->request("n1")->answered);

  // A replay changes nothing, not even with other content.
  const ReceivedResult other{bytes("other-key"), bytes(R"({"elements":[]})"), bytes("[]"), 0};
  EXPECT_EQ(store_->claim_and_store("n1", 1020, 600, other, {}), ClaimOutcome::replayed);
  EXPECT_EQ(store_->result("n1")->report, sample_result().report);
  EXPECT_EQ(store_->result("n1")->received_at, 1010);
}

TEST_P(RequestStoreBehaviour, UnknownAndExpiredNoncesAreRefusedAndStoreNothing) {
  EXPECT_EQ(store_->claim_and_store("never-issued", 1000, 600, sample_result(), kFiles),
            ClaimOutcome::unknown);
  EXPECT_FALSE(store_->has_request("never-issued"));
  EXPECT_FALSE(store_->result("never-issued").has_value());

  store_->add_request("old", "d", 1000);
  EXPECT_EQ(store_->claim_and_store("old", 1601, 600, sample_result(), kFiles),
            ClaimOutcome::expired);
  EXPECT_FALSE(store_->request("old")->answered);
  EXPECT_FALSE(store_->result("old").has_value());
  EXPECT_FALSE(store_->file("old", "front").has_value());
  // Exactly at the maximum age it is still answerable.
  store_->add_request("edge", "d", 1000);
  EXPECT_EQ(store_->claim_and_store("edge", 1600, 600, sample_result(), {}), ClaimOutcome::claimed);
}

TEST_P(RequestStoreBehaviour, PickUpKeepsTheFirstTime) {
  store_->add_request("n1", "d", 1000);
  EXPECT_FALSE(store_->pick_up("n1", 1005).has_value());  // nothing arrived yet
  ASSERT_EQ(store_->claim_and_store("n1", 1010, 600, sample_result(), {}), ClaimOutcome::claimed);
  const auto first = store_->pick_up("n1", 1020);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->report, sample_result().report);
  EXPECT_EQ(store_->request("n1")->picked_up_at, 1005);  // as the SQLite store always did
  (void)store_->pick_up("n1", 1030);
  EXPECT_EQ(store_->request("n1")->picked_up_at, 1005);

  store_->add_request("n2", "d", 1000);
  ASSERT_EQ(store_->claim_and_store("n2", 1010, 600, sample_result(), {}), ClaimOutcome::claimed);
  EXPECT_FALSE(store_->request("n2")->picked_up_at.has_value());
  ASSERT_TRUE(store_->pick_up("n2", 1040).has_value());
  EXPECT_EQ(store_->request("n2")->picked_up_at, 1040);
  ASSERT_TRUE(store_->pick_up("n2", 1050).has_value());
  EXPECT_EQ(store_->request("n2")->picked_up_at, 1040);
}

TEST_P(RequestStoreBehaviour, PurgeDropsExpiredRequestsAndResultsPastTheirKeep) {
  const idvault::rp::RetentionPolicy policy{600, 3600};
  store_->add_request("unanswered-old", "d", 1000);
  store_->add_request("unanswered-fresh", "d", 4500);
  store_->add_request("answered-old", "d", 1000);
  store_->add_request("answered-fresh", "d", 4000);
  ASSERT_EQ(store_->claim_and_store("answered-old", 1100, 600, sample_result(), kFiles),
            ClaimOutcome::claimed);
  ASSERT_EQ(store_->claim_and_store("answered-fresh", 4100, 600, sample_result(), kFiles),
            ClaimOutcome::claimed);

  EXPECT_EQ(store_->purge(5000, policy), 2U);
  EXPECT_FALSE(store_->has_request("unanswered-old"));
  EXPECT_FALSE(store_->has_request("answered-old"));
  EXPECT_FALSE(store_->result("answered-old").has_value());
  EXPECT_FALSE(store_->file("answered-old", "front").has_value());
  EXPECT_TRUE(store_->has_request("unanswered-fresh"));
  EXPECT_TRUE(store_->result("answered-fresh").has_value());
  EXPECT_EQ(store_->file("answered-fresh", "front")->bytes, kFiles[0].bytes);
  EXPECT_EQ(store_->purge(5000, policy), 0U);
  // A purged nonce is unknown again: its bundle cannot land.
  EXPECT_EQ(store_->claim_and_store("answered-old", 5001, 600, sample_result(), {}),
            ClaimOutcome::unknown);
}

TEST_P(RequestStoreBehaviour, ForgetRemovesTheResultAtOnceAndSpendsAnOpenNonce) {
  store_->add_request("answered", "d", 1000);
  ASSERT_EQ(store_->claim_and_store("answered", 1010, 600, sample_result(), kFiles),
            ClaimOutcome::claimed);
  store_->add_request("open", "d", 1000);

  EXPECT_TRUE(store_->forget("answered", 1020));
  EXPECT_FALSE(store_->result("answered").has_value());
  EXPECT_FALSE(store_->file("answered", "front").has_value());
  EXPECT_FALSE(store_->forget("answered", 1021));  // held nothing any more
  EXPECT_EQ(store_->claim_and_store("answered", 1022, 600, sample_result(), kFiles),
            ClaimOutcome::replayed);

  EXPECT_FALSE(store_->forget("open", 1030));  // nothing had arrived
  EXPECT_EQ(store_->claim_and_store("open", 1031, 600, sample_result(), kFiles),
            ClaimOutcome::replayed);
  EXPECT_FALSE(store_->result("open").has_value());
  EXPECT_FALSE(store_->forget("never-issued", 1040));

  // The purge then takes both request rows, whatever their age.
  EXPECT_EQ(store_->purge(1050, idvault::rp::RetentionPolicy{600, 3600}), 2U);
  EXPECT_FALSE(store_->has_request("answered"));
  EXPECT_FALSE(store_->has_request("open"));
}

TEST_P(RequestStoreBehaviour, AStoreOpenedAgainFindsWhatWasStored) {
  store_->add_request("n1", "d", 1000);
  ASSERT_EQ(store_->claim_and_store("n1", 1010, 600, sample_result(), kFiles),
            ClaimOutcome::claimed);
  store_.reset();
  const auto reopened = idvault::rp::open_request_store(db_);  // tables exist: kept
  EXPECT_EQ(reopened->result("n1")->report, sample_result().report);
  EXPECT_EQ(reopened->file("n1", "front")->bytes, kFiles[0].bytes);
  EXPECT_EQ(reopened->claim_and_store("n1", 1020, 600, sample_result(), {}),
            ClaimOutcome::replayed);
}

// A store from before results were sealed held them in the clear: opening it drops them
// (their nonces stay spent), so no old plaintext lingers beside the sealed rows.
TEST(SqliteRequestStore, AStoreFromBeforeSealingLosesItsClearResultsNotItsSpentNonces) {
  idvault::testing::TempDir dir("idvault-rp-store");
  {
    idvault::vault::SqliteDatabase old(dir / "rp.db", true);
    old.execute(
        "CREATE TABLE requests (nonce TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
        "  used_at INTEGER, read_token_sha256 TEXT NOT NULL DEFAULT '', picked_up_at INTEGER);"
        "CREATE TABLE results (nonce TEXT PRIMARY KEY REFERENCES requests(nonce), "
        "  received_at INTEGER NOT NULL, report TEXT NOT NULL, errors TEXT NOT NULL);"
        "CREATE TABLE files (nonce TEXT NOT NULL REFERENCES requests(nonce), "
        "  file_id TEXT NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (nonce, file_id));"
        "INSERT INTO requests VALUES ('n1', 1000, 1010, 'd', NULL);"
        "INSERT INTO results VALUES ('n1', 1010, '{\"name\":\"ERIKA\"}', 'null');"
        "INSERT INTO files VALUES ('n1', 'front', x'ffd8ff');");
  }
  idvault::rp::SqliteRequestStore store(dir / "rp.db");
  EXPECT_FALSE(store.result("n1").has_value());
  EXPECT_FALSE(store.file("n1", "front").has_value());
  EXPECT_EQ(store.claim_and_store("n1", 1020, 600, sample_result(), kFiles),
            ClaimOutcome::replayed);
  store.add_request("n2", "d", 1000);
  EXPECT_EQ(store.claim_and_store("n2", 1020, 600, sample_result(), kFiles), ClaimOutcome::claimed);
  EXPECT_EQ(store.result("n2")->wrapped_key, sample_result().wrapped_key);
}

TEST(PostgresRequestStore, AStoreFromBeforeSealingLosesItsClearResultsNotItsSpentNonces) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const std::string db = fresh_database("unsealed");
  {
    pqxx::connection old(db);
    pqxx::work transaction(old);
    transaction.exec(
        "CREATE TABLE requests (nonce TEXT PRIMARY KEY, created_at BIGINT NOT NULL,"
        "  used_at BIGINT, read_token_sha256 TEXT NOT NULL DEFAULT '', picked_up_at BIGINT);"
        "CREATE TABLE results (nonce TEXT PRIMARY KEY REFERENCES requests(nonce),"
        "  received_at BIGINT NOT NULL, report TEXT NOT NULL, errors TEXT NOT NULL);"
        "CREATE TABLE files (nonce TEXT NOT NULL REFERENCES requests(nonce),"
        "  file_id TEXT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (nonce, file_id));"
        "INSERT INTO requests VALUES ('n1', 1000, 1010, 'd', NULL);"
        "INSERT INTO results VALUES ('n1', 1010, '{\"name\":\"ERIKA\"}', 'null');"
        "INSERT INTO files VALUES ('n1', 'front', '\\xffd8ff');");
    transaction.commit();
  }
  idvault::rp::PostgresRequestStore store(db, 1);
  EXPECT_FALSE(store.result("n1").has_value());
  EXPECT_FALSE(store.file("n1", "front").has_value());
  EXPECT_EQ(store.claim_and_store("n1", 1020, 600, sample_result(), kFiles),
            ClaimOutcome::replayed);
  store.add_request("n2", "d", 1000);
  EXPECT_EQ(store.claim_and_store("n2", 1020, 600, sample_result(), kFiles), ClaimOutcome::claimed);
  EXPECT_EQ(store.result("n2")->wrapped_key, sample_result().wrapped_key);
  EXPECT_EQ(store.file("n2", "front")->bytes, kFiles[0].bytes);
}

// Bundles: recognised by the SHA-256 of their credentials before any HSM call.
using idvault::rp::BundleKey;
using idvault::rp::BundleOutcome;
using idvault::rp::BundleState;

TEST_P(RequestStoreBehaviour, ABundleIsLeasedOnceAndTakenOverWhenItsLeaseRunsOut) {
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1000, 30).state, BundleState::leased);
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1000, 30).state, BundleState::in_progress);
  // Another body with the same credentials would cost the same HSM operation: it waits too.
  EXPECT_EQ(store_->begin_bundle(same_credentials_other_body_, "n1", 1029, 30).state,
            BundleState::in_progress);
  // Its holder died (kill -9) and never settled: the bundle is not blocked for ever.
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1030, 30).state, BundleState::leased);
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1031, 30).state, BundleState::in_progress);
  EXPECT_EQ(store_->begin_bundle(BundleKey{"c2", "body-1"}, "n1", 1031, 30).state,
            BundleState::leased);
}

TEST_P(RequestStoreBehaviour, ARefusalIsAnsweredAgainToAnExactCopyOnly) {
  ASSERT_EQ(store_->begin_bundle(bundle_, "n1", 1000, 30).state, BundleState::leased);
  store_->settle_bundle(bundle_, BundleOutcome{400, R"({"error":"tampered"})"});
  for (const std::int64_t at : {1001, 5000}) {  // settled: no lease to run out
    const auto again = store_->begin_bundle(bundle_, "n1", at, 30);
    EXPECT_EQ(again.state, BundleState::settled);
    EXPECT_EQ(again.outcome.status, 400);
    EXPECT_EQ(again.outcome.body, R"({"error":"tampered"})");
  }
  // A tampered neighbour's refusal never sticks to the genuine bundle: it is tried.
  EXPECT_EQ(store_->begin_bundle(same_credentials_other_body_, "n1", 1002, 30).state,
            BundleState::leased);
  // The first body's late settle changes nothing now.
  store_->settle_bundle(bundle_, BundleOutcome{410, "late"});
  EXPECT_EQ(store_->begin_bundle(same_credentials_other_body_, "n1", 1003, 30).state,
            BundleState::in_progress);
  store_->settle_bundle(same_credentials_other_body_, BundleOutcome{410, "expired"});
  store_->settle_bundle(same_credentials_other_body_, BundleOutcome{400, "settled once"});
  const auto second = store_->begin_bundle(same_credentials_other_body_, "n1", 1004, 30);
  EXPECT_EQ(second.state, BundleState::settled);
  EXPECT_EQ(second.outcome.status, 410);
  EXPECT_EQ(second.outcome.body, "expired");
}

TEST_P(RequestStoreBehaviour, AReleasedBundleMayBeTriedAgainAtOnce) {
  ASSERT_EQ(store_->begin_bundle(bundle_, "n1", 1000, 30).state, BundleState::leased);
  store_->release_bundle(bundle_);  // the HSM answered 503
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1001, 30).state, BundleState::leased);
  store_->settle_bundle(bundle_, BundleOutcome{400, "refused"});
  store_->release_bundle(bundle_);  // a settled bundle stays settled
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1002, 30).state, BundleState::settled);
}

TEST_P(RequestStoreBehaviour, TheAcceptedOutcomeLandsInTheClaimsTransaction) {
  store_->add_request("n1", "d", 1000);
  ASSERT_EQ(store_->begin_bundle(bundle_, "n1", 1010, 30).state, BundleState::leased);
  ASSERT_EQ(store_->claim_and_store("n1", 1010, 600, sample_result(), kFiles, &bundle_,
                                    BundleOutcome{200, R"({"status":"accepted"})"}),
            ClaimOutcome::claimed);
  // Any copy with these credentials, exact or not, finds it accepted.
  for (const auto& copy : {bundle_, same_credentials_other_body_}) {
    const auto again = store_->begin_bundle(copy, "n1", 1011, 30);
    EXPECT_EQ(again.state, BundleState::settled);
    EXPECT_EQ(again.outcome.status, 200);
    EXPECT_EQ(again.outcome.body, R"({"status":"accepted"})");
  }
  store_->settle_bundle(bundle_, BundleOutcome{409, "late"});
  store_->release_bundle(bundle_);
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1012, 30).outcome.status, 200);

  // A claim that fails writes no outcome: the bundle stays leased to its holder, who settles.
  const BundleKey other{"c2", "body-3"};
  ASSERT_EQ(store_->begin_bundle(other, "n1", 1020, 30).state, BundleState::leased);
  EXPECT_EQ(store_->claim_and_store("n1", 1020, 600, sample_result(), {}, &other,
                                    BundleOutcome{200, "x"}),
            ClaimOutcome::replayed);
  EXPECT_EQ(store_->begin_bundle(other, "n1", 1021, 30).state, BundleState::in_progress);
  EXPECT_EQ(store_->result("n1")->received_at, 1010);
}

// What a callback asks before the HSM in one call (one statement on PostgreSQL), and the
// claim of a bundle without files (one statement too).
TEST_P(RequestStoreBehaviour, AdmitChecksTheRequestThenLeasesTheBundle) {
  EXPECT_EQ(store_->admit_bundle(bundle_, "n1", 1000, 30).state, BundleState::unknown_request);
  store_->add_request("n1", "d", 1000);
  EXPECT_EQ(store_->admit_bundle(bundle_, "n1", 1001, 30).state, BundleState::leased);
  EXPECT_EQ(store_->admit_bundle(bundle_, "n1", 1002, 30).state, BundleState::in_progress);
  store_->settle_bundle(bundle_, BundleOutcome{400, "refused"});
  const auto refused = store_->admit_bundle(bundle_, "n1", 1003, 30);
  EXPECT_EQ(refused.state, BundleState::settled);
  EXPECT_EQ(refused.outcome.body, "refused");
  EXPECT_EQ(store_->admit_bundle(same_credentials_other_body_, "n1", 1004, 30).state,
            BundleState::leased);
  ASSERT_EQ(store_->claim_and_store("n1", 1005, 600, sample_result(), {},
                                    &same_credentials_other_body_, BundleOutcome{200, "ok"}),
            ClaimOutcome::claimed);
  EXPECT_EQ(store_->result("n1")->report, sample_result().report);
  EXPECT_EQ(store_->begin_bundle(bundle_, "n1", 1006, 30).outcome.body, "ok");
  // Spent: no copy is leased, whatever its credentials.
  EXPECT_EQ(store_->admit_bundle(BundleKey{"c9", "b9"}, "n1", 1006, 30).state,
            BundleState::answered_request);
  EXPECT_EQ(store_->claim_and_store("n1", 1007, 600, sample_result(), {}), ClaimOutcome::replayed);
  EXPECT_EQ(store_->claim_and_store("n2", 1007, 600, sample_result(), {}), ClaimOutcome::unknown);
}

TEST_P(RequestStoreBehaviour, PurgeAndForgetTakeTheBundlesWithTheirRequest) {
  store_->add_request("forgotten", "d", 1000);
  store_->add_request("expiring", "d", 1000);
  store_->add_request("kept", "d", 4900);
  const BundleKey forgotten{"c-forgotten", "b"};
  const BundleKey expiring{"c-expiring", "b"};
  const BundleKey kept{"c-kept", "b"};
  for (const auto& [key, nonce] : {std::pair{forgotten, "forgotten"},
                                   std::pair{expiring, "expiring"}, std::pair{kept, "kept"}}) {
    ASSERT_EQ(store_->begin_bundle(key, nonce, 1000, 30).state, BundleState::leased);
    store_->settle_bundle(key, BundleOutcome{400, "refused"});
  }
  (void)store_->forget("forgotten", 1010);
  EXPECT_EQ(store_->begin_bundle(forgotten, "forgotten", 1011, 30).state, BundleState::leased);
  EXPECT_EQ(store_->begin_bundle(expiring, "expiring", 1011, 30).state, BundleState::settled);

  EXPECT_EQ(store_->purge(5000, idvault::rp::RetentionPolicy{600, 3600}), 2U);
  EXPECT_EQ(store_->begin_bundle(expiring, "expiring", 5001, 30).state, BundleState::leased);
  EXPECT_EQ(store_->begin_bundle(kept, "kept", 5001, 30).state, BundleState::settled);
}

// The longest verified account log per account (known_account_log.h): kept byte for byte,
// replaced only from the length the writer read, so a stale writer loses.
TEST_P(RequestStoreBehaviour, AnAccountLogIsReplacedOnlyFromTheLengthItsWriterRead) {
  const std::vector<std::string> two{"genesis {\"a\": \"\\u0000\"}\n", "add laptop"};
  const std::vector<std::string> three{two[0], two[1], "revoke laptop"};
  const std::vector<std::string> stale{two[0], two[1], "add phone", "add tablet"};
  EXPECT_TRUE(store_->known_account_log("acc").empty());
  EXPECT_TRUE(store_->replace_account_log("acc", 0, two));
  EXPECT_FALSE(store_->replace_account_log("acc", 0, three));  // one is there already
  EXPECT_EQ(store_->known_account_log("acc"), two);
  EXPECT_TRUE(store_->replace_account_log("acc", 2, three));
  EXPECT_FALSE(store_->replace_account_log("acc", 2, stale));  // read before `three` landed
  EXPECT_EQ(store_->known_account_log("acc"), three);
  EXPECT_TRUE(store_->known_account_log("other").empty());
  // purge and forget are about requests; the log stays, and a store opened again finds it.
  (void)store_->purge(1'000'000'000, idvault::rp::RetentionPolicy{});
  store_.reset();
  EXPECT_EQ(idvault::rp::open_request_store(db_)->known_account_log("acc"), three);
}

TEST_P(RequestStoreBehaviour, OfTwoWritersFromOneLengthExactlyOneWins) {
  ASSERT_TRUE(store_->replace_account_log("acc", 0, {"g"}));
  for (int round = 0; round < 8; ++round) {
    const auto held = store_->known_account_log("acc");
    std::vector<std::string> shorter = held;
    shorter.emplace_back("s");
    std::vector<std::string> longer = held;
    longer.insert(longer.end(), {"l", "l"});
    auto other = idvault::rp::open_request_store(db_);
    std::atomic<int> won{0};
    std::barrier start(2);
    auto write = [&](RequestStore& store, const std::vector<std::string>& log) {
      start.arrive_and_wait();
      if (store.replace_account_log("acc", held.size(), log)) ++won;
    };
    std::thread first(write, std::ref(*store_), std::cref(shorter));
    write(*other, longer);
    first.join();
    EXPECT_EQ(won.load(), 1);
    const auto now = store_->known_account_log("acc");
    EXPECT_TRUE(now == shorter || now == longer);
  }
}

// The rule on top of the store (known_account_log.h), for the cases that need no signed
// log: an extension is kept, the same log passes, a fork is refused at its entry and
// changes nothing. (A prefix is checked against the known log's revocations: that needs a
// real account, tests/host/cli/cli_cloud_account_share.sh.)
TEST_P(RequestStoreBehaviour, AProofThatForksFromTheKnownLogIsRefusedAtItsEntry) {
  const std::string id(64, 'a');
  const idvault::vault::AccountProof first{id, {"g", "add laptop"}};
  idvault::rp::check_against_known_log(*store_, first, {});
  EXPECT_EQ(store_->known_account_log(id), first.log);
  const idvault::vault::AccountProof longer{id, {"g", "add laptop", "revoke laptop"}};
  idvault::rp::check_against_known_log(*store_, longer, {});
  EXPECT_EQ(store_->known_account_log(id), longer.log);
  idvault::rp::check_against_known_log(*store_, longer, {});  // the same log again
  const idvault::vault::AccountProof fork{id, {"g", "add laptop", "add phone", "add tablet"}};
  try {
    idvault::rp::check_against_known_log(*store_, fork, {});
    ADD_FAILURE() << "a fork was accepted";
  } catch (const idvault::rp::ShareRejected& e) {
    EXPECT_STREQ(e.what(),
                 "account: the log differs from the one this service saw before at entry 2");
  }
  EXPECT_EQ(store_->known_account_log(id), longer.log);
}

INSTANTIATE_TEST_SUITE_P(Backends, RequestStoreBehaviour,
                         ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         [](const auto& info) { return info.param; });

// 16 workers, each with its own store and connection, race to claim one nonce, round
// after round: exactly one wins each, the others see it replayed, one result lands.
TEST(PostgresRequestStore, SixteenWorkersClaimingOneNonceExactlyOneWins) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const std::string db = fresh_database("race");
  constexpr int kWorkers = 16;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<RequestStore>> stores;
  for (int i = 0; i < kWorkers; ++i)
    stores.push_back(std::make_unique<idvault::rp::PostgresRequestStore>(db, 1));
  for (int round = 0; round < kRounds; ++round)
    stores[0]->add_request("nonce-" + std::to_string(round), "d", 1000);

  std::vector<std::atomic<int>> wins(kRounds);
  std::vector<std::atomic<int>> replays(kRounds);
  std::atomic<int> failures{0};
  std::barrier start(kWorkers);
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      for (int round = 0; round < kRounds; ++round) {
        start.arrive_and_wait();
        const ReceivedResult mine{bytes("key"), bytes("{\"worker\":" + std::to_string(i) + "}"),
                                  bytes("null"), 0};
        try {
          const auto outcome =
              stores[i]->claim_and_store("nonce-" + std::to_string(round), 1010, 600, mine, kFiles);
          if (outcome == ClaimOutcome::claimed) ++wins[round];
          if (outcome == ClaimOutcome::replayed) ++replays[round];
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(wins[round].load(), 1) << "round " << round;
    EXPECT_EQ(replays[round].load(), kWorkers - 1) << "round " << round;
    const auto stored = stores[0]->result("nonce-" + std::to_string(round));
    ASSERT_TRUE(stored.has_value());
    const std::string report(stored->report.begin(), stored->report.end());
    EXPECT_EQ(report.rfind("{\"worker\":", 0), 0U);
  }
}

// 16 workers, each with its own store, begin one bundle at once, round after round:
// exactly one holds the lease, the others see it in progress.
TEST(PostgresRequestStore, SixteenWorkersBeginningOneBundleExactlyOneLeasesIt) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const std::string db = fresh_database("lease");
  constexpr int kWorkers = 16;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<RequestStore>> stores;
  stores.reserve(kWorkers);
  for (int i = 0; i < kWorkers; ++i)
    stores.push_back(std::make_unique<idvault::rp::PostgresRequestStore>(db, 1));
  std::vector<std::atomic<int>> leases(kRounds);
  std::atomic<int> failures{0};
  std::barrier start(kWorkers);
  std::vector<std::thread> workers;
  workers.reserve(kWorkers);
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      for (int round = 0; round < kRounds; ++round) {
        start.arrive_and_wait();
        try {
          const auto begun = stores[i]->begin_bundle(
              idvault::rp::BundleKey{"c" + std::to_string(round), "b"}, "n", 1000, 30);
          if (begun.state == idvault::rp::BundleState::leased)
            ++leases[round];
          else if (begun.state != idvault::rp::BundleState::in_progress)
            ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
  for (int round = 0; round < kRounds; ++round) EXPECT_EQ(leases[round].load(), 1) << round;
}

// A restarted server costs the calls under way, not the store: the next call reconnects.
TEST(PostgresRequestStore, ReconnectsAfterTheServerRestarts) {
  if (!idvault::testing::PostgresServer::available())
    IDVAULT_SKIP_MISSING_PEER(idvault::testing::PostgresServer::missing());
  const std::string db = fresh_database("restart");
  idvault::rp::PostgresRequestStore store(db, 2);
  store.add_request("before", "d", 1000);
  postgres().stop();
  EXPECT_THROW((void)store.has_request("before"), idvault::rp::StoreUnavailable);
  EXPECT_THROW((void)store.has_request("before"), idvault::rp::StoreUnavailable);  // no server
  postgres().start();
  bool known = false;
  for (int attempt = 0; attempt < 3 && !known; ++attempt) {
    try {
      known = store.has_request("before");
    } catch (const idvault::rp::StoreUnavailable&) {  // a pooled connection that broke goes now
    }
  }
  EXPECT_TRUE(known);
  store.add_request("after", "d", 1001);
  EXPECT_TRUE(store.has_request("after"));
}

}  // namespace
