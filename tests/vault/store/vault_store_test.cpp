#include "vault/store/vault_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "tests/support/temp_dir.h"

using namespace idvault;
using namespace idvault::vault;
namespace fs = std::filesystem;

namespace {

class VaultStoreTest : public ::testing::Test {
 protected:
  idvault::testing::TempDir dir_{"idvault-store"};
  fs::path path_ = dir_ / "vault.db";
};

Bytes bytes_of(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

fs::path files_dir(const fs::path& database) {
  return database.string() + ".files";
}

// The ciphertext files beside the database (the lock file aside).
std::set<std::string> ciphertext_files(const fs::path& database) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(files_dir(database))) {
    if (entry.path().filename() != ".lock") names.insert(entry.path().filename().string());
  }
  return names;
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StoredElement passport_with_files(std::string_view tag) {
  StoredElement element;
  element.type = ElementType::passport;
  element.data = bytes_of(std::string("data-") + std::string(tag));
  element.data_hash = Bytes(32, 1);
  element.wrapped_data_secret = Bytes(40, 2);
  element.element_hash = Bytes(32, 3);
  element.files.push_back({std::string("front-") + std::string(tag),
                           "front_side",
                           0,
                           bytes_of("front"),
                           Bytes(32, 4),
                           Bytes(40, 5),
                           1700000000,
                           {},
                           {},
                           0});
  element.files.push_back({std::string("selfie-") + std::string(tag),
                           "selfie",
                           0,
                           bytes_of("selfie"),
                           Bytes(32, 6),
                           Bytes(40, 7),
                           1700000001,
                           {},
                           {},
                           0});
  return element;
}

}  // namespace

TEST_F(VaultStoreTest, CreatesTheSchemaInWalModeAndReopens) {
  {
    auto store = VaultStore::open(path_, true);
    EXPECT_EQ(store->schema_version(), kVaultSchemaVersion);
    store->put_setting("mode", bytes_of("token_aes"));
  }
  auto store = VaultStore::open(path_, false);
  EXPECT_EQ(store->setting("mode"), bytes_of("token_aes"));
  EXPECT_FALSE(store->setting("missing").has_value());
  SqliteDatabase raw(path_, false);
  auto statement = raw.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(statement.step());
  EXPECT_EQ(statement.text(0), "wal");
}

TEST_F(VaultStoreTest, OpeningAMissingStoreWithoutCreateFailsClearly) {
  try {
    (void)VaultStore::open(dir_ / "absent.db", false);
    FAIL() << "opened a store that does not exist";
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("absent.db"), std::string::npos);
  }
}

TEST_F(VaultStoreTest, RefusesAStoreFromANewerVersion) {
  { auto store = VaultStore::open(path_, true); }
  { SqliteDatabase(path_, false).execute("PRAGMA user_version = 99"); }
  try {
    (void)VaultStore::open(path_, false);
    FAIL();
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("newer idvault"), std::string::npos);
  }
}

TEST_F(VaultStoreTest, AVersionOneStoreIsMigratedWithItsData) {
  {
    auto store = VaultStore::open(path_, true);
    store->put_element(passport_with_files("old"));
  }
  {
    SqliteDatabase raw(path_, false);
    // What idvault 0.1 wrote: no recovery columns, ciphertexts in the rows, schema 1.
    raw.execute(
        "UPDATE files SET ciphertext = CAST(slot AS BLOB); "
        "ALTER TABLE files DROP COLUMN stored_name; ALTER TABLE files DROP COLUMN ciphertext_size; "
        "ALTER TABLE files DROP COLUMN stored_offset; "
        "ALTER TABLE elements DROP COLUMN recovery_sealed_data_secret; "
        "ALTER TABLE files DROP COLUMN recovery_sealed_secret; PRAGMA user_version = 1;");
  }
  auto store = VaultStore::open(path_, false);
  EXPECT_EQ(store->schema_version(), kVaultSchemaVersion);
  auto element = store->element(ElementType::passport);
  ASSERT_TRUE(element.has_value());
  EXPECT_EQ(element->data, bytes_of("data-old"));
  EXPECT_TRUE(element->recovery_sealed_data_secret.empty());
  ASSERT_EQ(element->files.size(), 2u);
  EXPECT_EQ(element->files[0].ciphertext, bytes_of("front_side"));  // read from the row
  EXPECT_EQ(element->files[1].ciphertext, bytes_of("selfie"));
  StoredElement sealed = passport_with_files("new");
  sealed.recovery_sealed_data_secret = Bytes(384, 8);
  sealed.files[0].recovery_sealed_secret = Bytes(384, 9);
  store->put_element(sealed);
  auto back = store->element(ElementType::passport);
  EXPECT_EQ(back->recovery_sealed_data_secret, Bytes(384, 8));
  EXPECT_EQ(back->files[0].recovery_sealed_secret, Bytes(384, 9));
  EXPECT_TRUE(back->files[1].recovery_sealed_secret.empty());
}

TEST_F(VaultStoreTest, ReplacingWrappedSecretsTouchesNothingElse) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  store->add_element_error(ElementType::passport, R"({"source":"selfie"})");
  StoredElement rewrapped = *store->element(ElementType::passport, false);
  rewrapped.wrapped_data_secret = Bytes(40, 0xAA);
  rewrapped.files[1].wrapped_secret = Bytes(40, 0xBB);
  store->replace_secrets({{rewrapped}, {}, {}});
  auto back = store->element(ElementType::passport);
  EXPECT_EQ(back->wrapped_data_secret, Bytes(40, 0xAA));
  EXPECT_EQ(back->files[0].wrapped_secret, Bytes(40, 5));
  EXPECT_EQ(back->files[1].wrapped_secret, Bytes(40, 0xBB));
  EXPECT_EQ(back->files[1].ciphertext, bytes_of("selfie"));
  EXPECT_EQ(store->element_errors().size(), 1u);
}

// Recovery moves every secret and names the new token in one commit (issue 13.25): a
// change that cannot be applied whole leaves every row and setting as it was.
TEST_F(VaultStoreTest, ReplacingSecretsIsAllOrNothingWithTheSettings) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  store->put_setting("token_serial", bytes_of("old"));
  store->put_setting("recovery_pending", bytes_of("x"));
  StoredElement moved = *store->element(ElementType::passport, false);
  moved.wrapped_data_secret = Bytes(40, 0xAA);
  moved.recovery_sealed_data_secret = Bytes(384, 0xCC);
  moved.files[0].wrapped_secret = Bytes(40, 0xBB);
  StoredElement gone = moved;
  gone.type = ElementType::address;  // not in the store: the change cannot be whole
  EXPECT_THROW(store->replace_secrets(
                   {{moved, gone}, {{"token_serial", bytes_of("new")}}, {"recovery_pending"}}),
               StoreError);
  auto back = store->element(ElementType::passport);
  EXPECT_EQ(back->wrapped_data_secret, Bytes(40, 2));
  EXPECT_EQ(back->files[0].wrapped_secret, Bytes(40, 5));
  EXPECT_EQ(store->setting("token_serial"), bytes_of("old"));
  EXPECT_TRUE(store->setting("recovery_pending").has_value());

  store->replace_secrets({{moved}, {{"token_serial", bytes_of("new")}}, {"recovery_pending"}});
  back = store->element(ElementType::passport);
  EXPECT_EQ(back->wrapped_data_secret, Bytes(40, 0xAA));
  EXPECT_EQ(back->recovery_sealed_data_secret, Bytes(384, 0xCC));
  EXPECT_EQ(back->files[0].wrapped_secret, Bytes(40, 0xBB));
  EXPECT_EQ(store->setting("token_serial"), bytes_of("new"));
  EXPECT_FALSE(store->setting("recovery_pending").has_value());
}

TEST_F(VaultStoreTest, ElementWithFilesRoundTrips) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  auto element = store->element(ElementType::passport);
  ASSERT_TRUE(element.has_value());
  EXPECT_EQ(element->data, bytes_of("data-a"));
  EXPECT_EQ(element->wrapped_data_secret, Bytes(40, 2));
  ASSERT_EQ(element->files.size(), 2u);
  EXPECT_EQ(element->files[0].slot, "front_side");
  EXPECT_EQ(element->files[0].ciphertext, bytes_of("front"));
  EXPECT_EQ(element->files[1].file_id, "selfie-a");
  EXPECT_EQ(element->files[1].file_date, 1700000001);
  auto listing = store->elements(false);
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_TRUE(listing[0].files[0].ciphertext.empty());
}

TEST_F(VaultStoreTest, PlainElementsKeepTheirValue) {
  auto store = VaultStore::open(path_, true);
  StoredElement phone;
  phone.type = ElementType::phone_number;
  phone.plain = "447700900123";
  phone.element_hash = Bytes(32, 9);
  store->put_element(phone);
  auto back = store->element(ElementType::phone_number);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->plain, "447700900123");
  EXPECT_FALSE(back->data.has_value());
}

TEST_F(VaultStoreTest, ReplacingAnElementReplacesItsFilesAndClearsItsErrors) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  store->add_element_error(ElementType::passport, R"({"source":"selfie"})");
  store->add_element_error(ElementType::address, R"({"source":"data"})");
  store->put_element(passport_with_files("b"));
  auto element = store->element(ElementType::passport);
  ASSERT_EQ(element->files.size(), 2u);
  EXPECT_EQ(element->files[0].file_id, "front-b");
  auto errors = store->element_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, ElementType::address);
}

TEST_F(VaultStoreTest, ReplacingAnElementDropsItsAttestations) {
  // They vouch for the version replaced, whose hashes (a phone number's value digest
  // among them) must not go out with later shares.
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  store->add_attestation(ElementType::passport, R"({"element_type":"passport"})");
  store->add_attestation(ElementType::address, R"({"element_type":"address"})");
  store->put_element(passport_with_files("b"));
  auto attestations = store->attestations();
  ASSERT_EQ(attestations.size(), 1u);
  EXPECT_EQ(attestations[0].type, ElementType::address);
}

TEST_F(VaultStoreTest, RemovingAnElementRemovesItsFiles) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  EXPECT_TRUE(store->remove_element(ElementType::passport));
  EXPECT_FALSE(store->remove_element(ElementType::passport));
  EXPECT_FALSE(store->element(ElementType::passport).has_value());
  SqliteDatabase raw(path_, false);
  auto count = raw.prepare("SELECT count(*) FROM files");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.integer(0), 0);
}

TEST_F(VaultStoreTest, ReceiptsKeepTheirOrder) {
  auto store = VaultStore::open(path_, true);
  for (int i = 0; i < 5; ++i) {
    store->append_receipt({0, "{\"n\":" + std::to_string(i) + "}",
                           Bytes(32, static_cast<std::uint8_t>(i)),
                           Bytes(32, static_cast<std::uint8_t>(i + 1))});
  }
  auto all = store->receipts();
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(all[i].receipt_json, "{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(store->last_receipt()->entry_hash, Bytes(32, 5));
}

TEST_F(VaultStoreTest, AFileThatIsNotADatabaseIsACleanError) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not sqlite, it is long enough to have a header though....", f);
    std::fclose(f);
  }
  try {
    (void)VaultStore::open(path_, false);
    FAIL() << "opened a file that is not a database";
  } catch (const StoreError& error) {
    EXPECT_EQ(error.kind(), StoreError::Kind::corrupt) << error.what();
  }
}

// Found by LeakSanitizer: a file SQLite opens but then refuses (not a database) left its
// connection, and the file descriptor with it, behind on every try.
TEST_F(VaultStoreTest, ARefusedFileLeavesNoConnectionOpen) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not sqlite, it is long enough to have a header though....", f);
    std::fclose(f);
  }
  const auto open_descriptors = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
  };
  const auto before = open_descriptors();
  for (int i = 0; i < 10; ++i) EXPECT_THROW((void)VaultStore::open(path_, false), StoreError);
  EXPECT_EQ(open_descriptors(), before);
}

// kill -9 at random points during writes: every write that was acknowledged is there,
// the store opens, and SQLite's integrity check passes.
TEST_F(VaultStoreTest, KillDuringWritesLosesNoAcknowledgedWrite) {
  std::mt19937 random(12345);
  for (int round = 0; round < 5; ++round) {
    fs::remove(path_);
    fs::remove(path_.string() + "-wal");
    fs::remove(path_.string() + "-shm");
    { auto store = VaultStore::open(path_, true); }
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      auto store = VaultStore::open(path_, false);
      for (int i = 0; i < 1000; ++i) {
        store->put_setting("k" + std::to_string(i), Bytes(512, static_cast<std::uint8_t>(i)));
        int acknowledged = i;
        if (::write(pipe_fds[1], &acknowledged, sizeof(acknowledged)) != sizeof(acknowledged))
          ::_exit(2);
      }
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    int last = -1;
    int wanted = std::uniform_int_distribution<int>(5, 300)(random);
    int value;
    while (::read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) {
      last = value;
      if (value >= wanted) break;
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    while (::read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) last = value;
    ::close(pipe_fds[0]);

    auto store = VaultStore::open(path_, false);
    for (int i = 0; i <= last; ++i) {
      ASSERT_EQ(store->setting("k" + std::to_string(i)), Bytes(512, static_cast<std::uint8_t>(i)))
          << "round " << round << ": acknowledged write " << i << " lost";
    }
    SqliteDatabase raw(path_, false);
    auto check = raw.prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.step());
    EXPECT_EQ(check.text(0), "ok");
  }
}

TEST_F(VaultStoreTest, FileCiphertextsLiveBesideTheDatabaseNotInIt) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  const auto names = ciphertext_files(path_);
  ASSERT_EQ(names.size(), 1u);  // one pack per put
  EXPECT_TRUE(CiphertextFiles::valid_name(*names.begin()))
      << *names.begin();  // random, says nothing
  EXPECT_EQ(contents(files_dir(path_) / *names.begin()), "frontselfie");
  EXPECT_EQ(fs::status(files_dir(path_)).permissions() & fs::perms::all, fs::perms::owner_all);
  SqliteDatabase raw(path_, false);
  auto rows = raw.prepare(
      "SELECT sum(length(ciphertext)), sum(ciphertext_size), count(stored_name) FROM files");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.integer(0), 0);
  EXPECT_EQ(rows.integer(1), 11);
  EXPECT_EQ(rows.integer(2), 2);
}

TEST_F(VaultStoreTest, ReplacingAndRemovingAnElementRemovesItsCiphertextFiles) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  const auto first = ciphertext_files(path_);
  store->put_element(passport_with_files("b"));
  store->wait_for_removals();
  const auto second = ciphertext_files(path_);
  ASSERT_EQ(second.size(), 1u);
  for (const auto& name : first) EXPECT_FALSE(second.contains(name));
  // An element read back and put again keeps naming the same files: they must stay.
  store->put_element(*store->element(ElementType::passport));
  EXPECT_EQ(store->element(ElementType::passport)->files[1].ciphertext, bytes_of("selfie"));
  EXPECT_TRUE(store->remove_element(ElementType::passport));
  EXPECT_TRUE(ciphertext_files(path_).empty());
}

TEST_F(VaultStoreTest, FilesNoRowRefersToAreRemovedAtOpen) {
  std::string kept;
  {
    auto store = VaultStore::open(path_, true);
    store->put_element(passport_with_files("a"));
    // What a crash leaves: a file written but never committed, and a half-written one.
    (void)store->open_pack()->append(bytes_of("never committed"));
    std::ofstream(files_dir(path_) / ".tmp-0123456789abcdef0123456789abcdef.tgc") << "half";
    std::ofstream(files_dir(path_) / "README") << "not ours: left alone";
    kept = *ciphertext_files(path_).begin();
    EXPECT_EQ(ciphertext_files(path_).size(), 4u);
  }
  auto store = VaultStore::open(path_, false);
  auto names = ciphertext_files(path_);
  EXPECT_EQ(names.size(), 2u);  // the referenced pack and README
  EXPECT_TRUE(names.contains("README"));
  EXPECT_EQ(store->element(ElementType::passport)->files.size(), 2u);
}

TEST_F(VaultStoreTest, ASecondHandleDoesNotRemoveFilesTheFirstIsStillWriting) {
  auto writer = VaultStore::open(path_, true);
  StoredElement element = passport_with_files("a");
  auto pack = writer->open_pack();
  for (auto& file : element.files) {
    file.stored_offset = pack->append(file.ciphertext);  // written ahead, not yet committed
    file.stored_name = pack->name();
    file.ciphertext_size = file.ciphertext.size();
    file.ciphertext.clear();
  }
  { auto reader = VaultStore::open(path_, false); }
  writer->put_element(element);
  auto back = writer->element(ElementType::passport);
  EXPECT_EQ(back->files[0].ciphertext, bytes_of("front"));
  EXPECT_EQ(back->files[1].ciphertext, bytes_of("selfie"));
}

TEST_F(VaultStoreTest, AMissingOrTruncatedCiphertextFileIsAClearError) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  SqliteDatabase raw(path_, false);
  auto named = raw.prepare("SELECT stored_name FROM files WHERE slot = 'selfie'");
  ASSERT_TRUE(named.step());
  const fs::path selfie = files_dir(path_) / named.text(0);
  fs::resize_file(selfie, 8);  // front_side (5 bytes at 0) whole, selfie (6 at 5) cut
  try {
    (void)store->element(ElementType::passport);
    FAIL() << "a truncated ciphertext was handed out";
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("has 8 bytes where the store records 6 at offset 5"),
              std::string::npos)
        << error.what();
    EXPECT_EQ(error.kind(), StoreError::Kind::corrupt);
  }
  fs::remove(selfie);
  try {
    (void)store->element(ElementType::passport);
    FAIL() << "a missing ciphertext went unnoticed";
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("is missing"), std::string::npos) << error.what();
    EXPECT_EQ(error.kind(), StoreError::Kind::corrupt);
  }
  // Listings do not need the bytes, and the element can still be replaced or removed.
  EXPECT_EQ(store->elements(false).size(), 1u);
  EXPECT_TRUE(store->remove_element(ElementType::passport));
}

TEST_F(VaultStoreTest, ARowNamingSomethingElseIsRefusedNotOpened) {
  auto store = VaultStore::open(path_, true);
  store->put_element(passport_with_files("a"));
  SqliteDatabase(path_, false)
      .execute("UPDATE files SET stored_name = '../vault.db' WHERE slot = 'selfie'");
  EXPECT_THROW((void)store->element(ElementType::passport), StoreError);
}

// kill -9 during puts of elements with file ciphertexts: the last acknowledged put (or
// the one in flight, if its commit made it) is whole, and no file is left over.
TEST_F(VaultStoreTest, KillDuringFilePutsLeavesTheLastAcknowledgedPutWhole) {
  std::mt19937 random(777);
  for (int round = 0; round < 4; ++round) {
    fs::remove_all(dir_.path());
    fs::create_directory(dir_.path());
    { auto store = VaultStore::open(path_, true); }
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      auto store = VaultStore::open(path_, false);
      for (int i = 0; i < 400; ++i) {
        StoredElement element = passport_with_files(std::to_string(i));
        element.files[0].ciphertext = Bytes(64 * 1024 + i, static_cast<std::uint8_t>(i));
        element.files[1].ciphertext = Bytes(1000 + i, static_cast<std::uint8_t>(i + 1));
        store->put_element(element);
        if (::write(pipe_fds[1], &i, sizeof(i)) != sizeof(i)) ::_exit(2);
      }
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    int last = -1;
    const int wanted = std::uniform_int_distribution<int>(3, 40)(random);
    int value;
    while (::read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) {
      last = value;
      if (value >= wanted) break;
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    while (::read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) last = value;
    ::close(pipe_fds[0]);
    ASSERT_GE(last, 0);

    auto store = VaultStore::open(path_, false);
    auto element = store->element(ElementType::passport);
    ASSERT_TRUE(element.has_value());
    const std::string tag = std::string(element->data->begin(), element->data->end()).substr(5);
    const int stored = std::stoi(tag);
    EXPECT_TRUE(stored == last || stored == last + 1)
        << "round " << round << ": " << stored << " vs " << last;
    EXPECT_EQ(element->files[0].ciphertext,
              Bytes(64 * 1024 + stored, static_cast<std::uint8_t>(stored)));
    EXPECT_EQ(element->files[1].ciphertext,
              Bytes(1000 + stored, static_cast<std::uint8_t>(stored + 1)));
    EXPECT_EQ(ciphertext_files(path_).size(), 1u) << "round " << round << ": files left over";
  }
}
