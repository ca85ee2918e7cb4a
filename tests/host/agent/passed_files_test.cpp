// PassedFiles (host/agent/passed_files.h): a placeholder is filled from its file on the
// vault's thread, and a file that cannot be read, or changes while it is read, fails the
// put with an error naming the slot instead of storing something the client did not mean.
#include "host/agent/passed_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/rpc/json_rpc.h"
#include "tests/support/temp_dir.h"

using idvault::SecretBytes;
using idvault::agent::PassedFiles;
using idvault::rpc::FileDescriptor;
using idvault::rpc::PassedFile;
using idvault::rpc::RpcError;
namespace fs = std::filesystem;

namespace {

class PassedFilesTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
    ::close(fd);
    return path;
  }
  static PassedFile passed(const fs::path& path, std::size_t size, int flags = O_RDONLY) {
    return PassedFile{FileDescriptor(::open(path.c_str(), flags | O_CLOEXEC)), size};
  }
  static std::string error_of(const PassedFiles& files, SecretBytes& file) {
    try {
      files.load(file);
    } catch (const RpcError& error) {
      return error.what();
    }
    return "";
  }

  idvault::testing::TempDir dir_{"idvault-passed"};
};

TEST_F(PassedFilesTest, FillsItsPlaceholdersAndLeavesOtherFilesAlone) {
  const std::string contents = std::string("front\0side\n", 11) + std::string(100000, 'z');
  PassedFiles files;
  SecretBytes front =
      files.placeholder(passed(write("front", contents), contents.size()), "front_side");
  EXPECT_FALSE(files.empty());
  SecretBytes moved = std::move(front);  // the element moves its files; the buffer stays
  files.load(moved);
  EXPECT_EQ(moved.reveal_text(), contents);
  SecretBytes other = SecretBytes::from_string("sent as bytes");
  files.load(other);
  EXPECT_EQ(other.reveal_text(), "sent as bytes");
}

TEST_F(PassedFilesTest, AFileThatShrankGrewOrChangedFailsNamingTheSlot) {
  const fs::path path = write("scan", std::string(4096, 'a'));
  PassedFiles files;
  SecretBytes shrunk = files.placeholder(passed(path, 4096), "files[0]");
  ASSERT_EQ(::truncate(path.c_str(), 1000), 0);
  EXPECT_EQ(error_of(files, shrunk), "files[0]: the file passed shrank while it was read");

  const fs::path grown_path = write("grown", std::string(4096, 'b'));
  SecretBytes grown = files.placeholder(passed(grown_path, 4096), "selfie");
  ASSERT_EQ(::truncate(grown_path.c_str(), 8192), 0);
  EXPECT_EQ(error_of(files, grown), "selfie: the file passed changed while it was read");
}

TEST_F(PassedFilesTest, ADescriptorNotOpenForReadingIsAClearError) {
  const fs::path path = write("write-only", "secret scan");
  PassedFiles files;
  SecretBytes file = files.placeholder(passed(path, 11, O_WRONLY), "reverse_side");
  EXPECT_EQ(error_of(files, file), "reverse_side: the file passed is not open for reading");
}

}  // namespace
