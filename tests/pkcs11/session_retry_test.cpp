// Operations that change nothing on the token survive one dropped session: they run once
// more on a fresh one (pkcs11/session_retry.h). Faults come from the shim's control file
// ($IDVAULT_FAULT_CONTROL), which it re-reads on every call.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "pkcs11/aes.h"
#include "pkcs11/ecdsa.h"
#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"

namespace idvault::p11::test {
namespace {

class SessionRetryTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("IDVAULT_FAULT_CONTROL", (dir_ / "faults").c_str(), 1); }
  void TearDown() override { ::unsetenv("IDVAULT_FAULT_CONTROL"); }
  // Replaced whole, by rename, as the shim expects.
  void faults(const std::string& rules) {
    const auto next = dir_ / "faults.new";
    std::ofstream(next) << rules << "\n";
    std::filesystem::rename(next, dir_ / "faults");
  }

  idvault::testing::TempDir dir_{"idvault-retry"};
  idvault::testing::SoftHsmToken softhsm{"retry"};
  std::shared_ptr<Module> module = Module::load(IDVAULT_FAULT_MODULE);
  std::shared_ptr<Token> token = resolve_token(module, Uri::parse(softhsm.uri()));
};

CK_RV rv_of(const std::function<void()>& operation) {
  try {
    operation();
  } catch (const Pkcs11Error& error) {
    return error.rv();
  }
  return CKR_OK;
}

TEST_F(SessionRetryTest, ASignatureSurvivesOneDroppedSessionButNotTwo) {
  Login login = Login::open(token, softhsm.pin());
  const EcPrivateKey key(generate_ec_p256_key_pair(token, {"identity", {0x01}}).private_key);
  const Bytes message{1, 2, 3};

  faults("fail C_Sign CKR_SESSION_HANDLE_INVALID 1");
  EXPECT_EQ(rv_of([&] { (void)key.sign_sha256(message); }), CKR_OK);
  faults("fail C_Sign CKR_SESSION_COUNT 1");
  EXPECT_EQ(rv_of([&] { (void)key.sign_sha256(message); }), CKR_OK);
  faults("fail C_Sign CKR_SESSION_HANDLE_INVALID 2");
  EXPECT_EQ(rv_of([&] { (void)key.sign_sha256(message); }), CKR_SESSION_HANDLE_INVALID);
  // Not about the session: reported at once, not tried again (the next call is real).
  faults("fail C_Sign CKR_FUNCTION_FAILED 1");
  EXPECT_EQ(rv_of([&] { (void)key.sign_sha256(message); }), CKR_FUNCTION_FAILED);
  EXPECT_EQ(rv_of([&] { (void)key.sign_sha256(message); }), CKR_OK);
}

TEST_F(SessionRetryTest, AnUnwrapThatLostItsSessionIsATokenErrorNotAnAlteredCiphertext) {
  Login login = Login::open(token, softhsm.pin());
  const AesKey key(generate_aes256_key(token, {"master", {0x02}}));
  const SecretBytes secret(Bytes(32, 0x5a));
  const Bytes wrapped = key.wrap_secret(secret);

  faults("fail C_UnwrapKey CKR_SESSION_HANDLE_INVALID 1");
  EXPECT_EQ(key.unwrap_secret(wrapped).reveal().size(), 32u);
  faults("fail C_UnwrapKey CKR_SESSION_HANDLE_INVALID 2");
  try {
    (void)key.unwrap_secret(wrapped);
    FAIL() << "expected a Pkcs11Error";
  } catch (const AuthenticationFailed& error) {
    FAIL() << "a dropped session reported as an altered ciphertext: " << error.what();
  } catch (const Pkcs11Error& error) {
    EXPECT_EQ(error.rv(), CKR_SESSION_HANDLE_INVALID);
  }
  faults("");
  Bytes altered = wrapped;
  altered[5] ^= 1;
  EXPECT_THROW((void)key.unwrap_secret(altered), AuthenticationFailed);
}

}  // namespace
}  // namespace idvault::p11::test
