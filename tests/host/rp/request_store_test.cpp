// RequestStore's files: private from the first byte. A VFS wrapped around SQLite's own
// looks at the database, its -wal and its -shm at every file SQLite opens or checks for,
// so a file that exists even for a moment with a wider mode is caught, whatever chmod
// comes later.
#include "host/rp/service/request_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>
#include <vector>

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
    idvault::rp::RequestStore store(dir / "rp.db");  // creates its tables: -wal and -shm too
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
