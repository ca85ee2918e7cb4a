// Token removal surfaces as TokenGone, drops the pool, and never hangs or crashes.
#include <gtest/gtest.h>

#include "pkcs11/ecdsa.h"
#include "pkcs11/keygen.h"
#include "pkcs11/public_key.h"
#include "pkcs11/rsa.h"
#include "tests/pkcs11/fault_control.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/host_crypto.h"

namespace idvault::p11::test {
namespace {

TEST_F(LoggedInTest, DeletedSoftHsmTokenIsTokenGone) {
  const KeyPair pair = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  auto public_key = public_key_of(pair.public_key);
  const RsaPrivateKey key(pair.private_key);
  const Bytes ciphertext =
      idvault::testing::oaep_encrypt(*public_key, idvault::testing::random_bytes(32));
  ASSERT_NO_THROW((void)key.decrypt_oaep(ciphertext));
  ASSERT_GE(token->sessions().idle_count(), 1u);

  softhsm.remove();  // softhsm2-util --delete-token while our sessions are open

  try {
    (void)key.decrypt_oaep(ciphertext);
    FAIL() << "expected TokenGone";
  } catch (const TokenGone& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::token_gone);
    EXPECT_NE(std::string(e.what()).find("token 'test'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("removed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(token->gone());
  EXPECT_EQ(token->sessions().open_count(), 0u);
  EXPECT_THROW((void)token->sessions().acquire(), TokenGone);
  EXPECT_THROW((void)resolve_token(module, Uri::parse(softhsm.uri())), TokenNotFound);
}

class RemovableTokenTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken softhsm{"removable"};
  std::shared_ptr<Module> module = Module::load(IDVAULT_FAULT_MODULE);
  std::shared_ptr<Token> token = resolve_token(module, Uri::parse(softhsm.uri()));
  FaultControl faults;
};

TEST_F(RemovableTokenTest, DeviceRemovedDuringSigningIsTokenGone) {
  Login login = Login::open(token, softhsm.pin());
  const KeyPair pair = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  const EcPrivateKey key(pair.private_key);
  ASSERT_NO_THROW((void)key.sign_sha256(Bytes{1, 2, 3}));

  faults.remove_token();
  try {
    (void)key.sign_sha256(Bytes{1, 2, 3});
    FAIL() << "expected TokenGone";
  } catch (const TokenGone& e) {
    EXPECT_EQ(e.rv(), CKR_DEVICE_REMOVED);
  }
  EXPECT_EQ(token->sessions().open_count(), 0u);
  login.close();  // logging out of a removed token must not throw or hang
}

TEST_F(RemovableTokenTest, ReinsertedTokenIsANewTokenObject) {
  faults.remove_token();
  EXPECT_THROW((void)token->sessions().acquire(), TokenGone);
  EXPECT_THROW((void)resolve_token(module, Uri::parse(softhsm.uri())), TokenNotFound);
  faults.remove_token(false);
  auto again = resolve_token(module, Uri::parse(softhsm.uri()));
  EXPECT_NE(again.get(), token.get());
  EXPECT_NO_THROW((void)again->sessions().acquire());
}

// A Login on the token that went away must not log out the one made on it since it came
// back (the token's login state is the token's, not the Token object's).
TEST_F(RemovableTokenTest, ALoginOnTheTokenBackOutlivesTheOldOne) {
  auto old_login = std::make_unique<Login>(Login::open(token, softhsm.pin()));
  faults.remove_token();
  EXPECT_THROW((void)token->sessions().acquire(), TokenGone);
  faults.remove_token(false);
  auto again = resolve_token(module, Uri::parse(softhsm.uri()));
  ASSERT_NE(again.get(), token.get());
  Login login = Login::open(again, softhsm.pin());
  old_login.reset();
  const KeyPair pair = generate_rsa_key_pair(again, 2048, {"service", {0x01}});
  const RsaPrivateKey key(pair.private_key);
  const Bytes ciphertext = idvault::testing::oaep_encrypt(*public_key_of(pair.public_key),
                                                          idvault::testing::random_bytes(32));
  EXPECT_NO_THROW((void)key.decrypt_oaep(ciphertext));
}

// After CKR_CRYPTOKI_NOT_INITIALIZED: C_Initialize again (already initialised counts as
// done), and every Token of the module is gone, so its users find it anew.
TEST_F(RemovableTokenTest, ReinitializedModuleFindsItsTokensAnew) {
  EXPECT_NO_THROW(module->reinitialize());
  EXPECT_TRUE(token->gone());
  auto again = resolve_token(module, Uri::parse(softhsm.uri()));
  EXPECT_NE(again.get(), token.get());
  EXPECT_NO_THROW((void)again->sessions().acquire());
}

}  // namespace
}  // namespace idvault::p11::test
