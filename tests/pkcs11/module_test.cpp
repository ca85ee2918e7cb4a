// Loading modules: the registry, symlinks, and what goes wrong with bad paths.
#include "pkcs11/module.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pkcs11/token_info.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/softhsm_token.h"

namespace idvault::p11::test {
namespace {

TEST(Module, LoadsSoftHsmAndDescribesIt) {
  idvault::testing::SoftHsmToken softhsm;
  auto module = Module::load(idvault::testing::softhsm_module_path());
  EXPECT_NE(module->description().find("SoftHSM"), std::string::npos) << module->description();
  EXPECT_EQ(module->path(), std::filesystem::canonical(idvault::testing::softhsm_module_path()));
}

TEST(Module, SymlinkAndItsTargetGiveTheSameModule) {
  idvault::testing::SoftHsmToken softhsm;
  const auto link = idvault::testing::softhsm_module_path();
  ASSERT_TRUE(std::filesystem::is_symlink(link));
  auto via_link = Module::load(link);
  auto via_target = Module::load(std::filesystem::canonical(link));
  EXPECT_EQ(via_link.get(), via_target.get());
}

TEST(Module, InitialisesOnceAndAgainAfterTheLastUserLetsGo) {
  idvault::testing::SoftHsmToken softhsm;
  CallCounter calls;
  {
    auto first = Module::load(idvault::testing::softhsm_module_path());
    auto second = Module::load(idvault::testing::softhsm_module_path());
    EXPECT_EQ(CallCounter::count("C_Initialize"), 1);
  }
  EXPECT_EQ(CallCounter::count("C_Finalize"), 1);
  auto again = Module::load(idvault::testing::softhsm_module_path());
  EXPECT_EQ(CallCounter::count("C_Initialize"), 2);
  EXPECT_FALSE(list_tokens(*again).empty());
}

TEST(Module, BogusPathIsAClearErrorNamingThePath) {
  try {
    (void)Module::load("/nonexistent/libnothing.so");
    FAIL() << "expected ModuleLoadError";
  } catch (const ModuleLoadError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/libnothing.so"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::module_load);
  }
}

TEST(Module, LibraryThatIsNotPkcs11IsRejected) {
  const std::filesystem::path libz = "/lib/x86_64-linux-gnu/libz.so.1";
  ASSERT_TRUE(std::filesystem::exists(libz));
  try {
    (void)Module::load(libz);
    FAIL() << "expected ModuleLoadError";
  } catch (const ModuleLoadError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("libz.so.1"), std::string::npos) << what;
    EXPECT_NE(what.find("not a PKCS#11 module"), std::string::npos) << what;
  }
}

TEST(Module, FileThatIsNotALibraryIsRejected) {
  idvault::testing::SoftHsmEnvironment env;  // only for a temp dir with a text file in it
  EXPECT_THROW((void)Module::load(env.conf_path()), ModuleLoadError);
  EXPECT_THROW((void)Module::load(env.dir()), ModuleLoadError);
}

}  // namespace
}  // namespace idvault::p11::test
