// The pack files beside the holder's database (vault/ciphertext_files.h) on their own:
// where large and small ciphertexts land, the writer thread behind append_later, and
// removal on the store's own thread. Through the real file system of the temp dir.
#include "vault/store/ciphertext_files.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <vector>

#include "tests/support/temp_dir.h"
#include "vault/store/sqlite_db.h"

using namespace idvault;
using namespace idvault::vault;
namespace fs = std::filesystem;

namespace {

class CiphertextFilesTest : public ::testing::Test {
 protected:
  static PageAlignedBytes random_bytes(std::size_t size, std::uint32_t seed) {
    std::mt19937 random(seed);
    PageAlignedBytes bytes(size);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(random());
    return bytes;
  }
  static Bytes plain(const PageAlignedBytes& bytes) { return Bytes(bytes.begin(), bytes.end()); }

  idvault::testing::TempDir dir_{"idvault-packs"};
};

// Direct I/O wants page-aligned offsets: a large ciphertext starts on a page boundary
// (the bytes before it are a gap), a small one right where the last one ended; each
// reads back exactly, whichever way it was written.
TEST_F(CiphertextFilesTest, LargeCiphertextsStartOnAPageAndEveryOneReadsBack) {
  CiphertextFiles files(dir_ / "vault.db.files");
  const std::size_t large = CiphertextFiles::Pack::kDirectFrom + 48;  // not a whole number of pages
  const std::vector<PageAlignedBytes> ciphertexts = {random_bytes(100, 1), random_bytes(large, 2),
                                                     random_bytes(large * 3, 3),
                                                     random_bytes(16, 4)};
  std::vector<std::uint64_t> offsets;
  std::string name;
  bool direct = false;
  {
    auto pack = files.open_pack();
    name = pack->name();
    direct = pack->writes_direct();
    offsets.push_back(pack->append(plain(ciphertexts[0])));  // an unaligned buffer
    offsets.push_back(pack->append(ciphertexts[1]));
    // From a buffer that is not page-aligned: through the pack's bounce copy.
    const Bytes unaligned = plain(ciphertexts[2]);
    offsets.push_back(pack->append(unaligned));
    offsets.push_back(pack->append(ciphertexts[3]));
    pack->finish();
    const std::string published[] = {name};
    files.publish(published);
  }
  EXPECT_EQ(offsets[0], 0u);
  EXPECT_GE(offsets[1], 100u);
  EXPECT_GE(offsets[2], offsets[1] + large);
  EXPECT_GE(offsets[3], offsets[2] + large * 3);
  if (direct) {
    EXPECT_EQ(offsets[1] % kPageAlignment, 0u);
    EXPECT_EQ(offsets[2] % kPageAlignment, 0u);
  } else {
    std::cout << "no direct I/O on " << dir_.path()
              << ": every ciphertext went through the page cache\n";
    EXPECT_EQ(offsets[3], 100 + large + large * 3);
  }
  for (std::size_t i = 0; i < ciphertexts.size(); ++i) {
    EXPECT_EQ(files.read(name, offsets[i], ciphertexts[i].size()), plain(ciphertexts[i]))
        << "ciphertext " << i;
  }
}

// append_later returns at once with the offset; finish() is when every byte is there.
TEST_F(CiphertextFilesTest, AppendLaterWritesEveryCiphertextWhereItSaid) {
  CiphertextFiles files(dir_ / "vault.db.files");
  std::vector<PageAlignedBytes> ciphertexts;
  for (std::uint32_t i = 0; i < 12; ++i) {
    ciphertexts.push_back(random_bytes(i % 3 == 0 ? 64 * 1024 + i : (1u << 20) + 16 * i, i));
  }
  auto pack = files.open_pack();
  std::vector<std::uint64_t> offsets;
  for (const auto& ciphertext : ciphertexts)
    offsets.push_back(pack->append_later(PageAlignedBytes(ciphertext)));
  pack->finish();
  const std::string published[] = {pack->name()};
  files.publish(published);
  for (std::size_t i = 0; i < ciphertexts.size(); ++i) {
    EXPECT_EQ(files.read(pack->name(), offsets[i], ciphertexts[i].size()), plain(ciphertexts[i]))
        << i;
  }
}

// A write that fails on the writer thread is not lost: finish() throws it as the
// store's error, and the put's next append_later() stops at once.
TEST_F(CiphertextFilesTest, AWriteThatFailsOnTheWriterThreadIsReported) {
  CiphertextFiles files(dir_ / "vault.db.files");
  auto pack = files.open_pack();
  // A file size limit is a write failure the test can cause without filling a disk:
  // writes past it fail with EFBIG (and SIGXFSZ, ignored here).
  struct sigaction ignore {};
  struct sigaction before {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &before), 0);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 1u << 20;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  (void)pack->append_later(random_bytes(4u << 20, 7));
  bool reported = false;
  try {
    pack->finish();
  } catch (const StoreError& error) {
    reported = true;
    EXPECT_NE(std::string(error.what()).find("cannot write"), std::string::npos) << error.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &before, nullptr);
  EXPECT_TRUE(reported) << "a failed write went unreported";
  EXPECT_THROW((void)pack->append_later(random_bytes(16, 8)), StoreError);
}

TEST_F(CiphertextFilesTest, RemovalsOnTheStoresThreadAreDoneWhenWaitedFor) {
  std::vector<std::string> names;
  {
    CiphertextFiles files(dir_ / "vault.db.files");
    for (int i = 0; i < 3; ++i) {
      auto pack = files.open_pack();
      (void)pack->append(plain(random_bytes(1000, i)));
      const std::string published[] = {pack->name()};
      files.publish(published);
      names.push_back(pack->name());
    }
    files.remove_later({names[0], names[1]});
    files.wait_for_removals();
    EXPECT_FALSE(fs::exists(dir_ / "vault.db.files" / names[0]));
    EXPECT_FALSE(fs::exists(dir_ / "vault.db.files" / names[1]));
    EXPECT_TRUE(fs::exists(dir_ / "vault.db.files" / names[2]));
    files.remove_later({names[2]});
  }  // not waited for: closing the directory finishes the removal
  EXPECT_FALSE(fs::exists(dir_ / "vault.db.files" / names[2]));
}

}  // namespace
