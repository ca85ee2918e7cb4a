// Login: PIN handling that never burns a try the user did not mean to spend.
#include "pkcs11/login.h"

#include <gtest/gtest.h>

#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "tests/pkcs11/fault_control.h"
#include "tests/pkcs11/token_fixture.h"

namespace idvault::p11::test {
namespace {

std::size_t private_key_count(const std::shared_ptr<Token>& token) {
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  const CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof private_class}};
  return find_objects(token, search).size();
}

TEST_F(TokenTest, LoginShowsPrivateObjectsAndLogoutHidesThem) {
  {
    Login login = Login::open(token, softhsm.pin());
    (void)generate_ec_p256_key_pair(token, {"identity", {0x01}});
    EXPECT_EQ(private_key_count(token), 1u);
  }
  EXPECT_EQ(private_key_count(token), 0u);
  EXPECT_EQ(token->sessions().idle_count(), 1u);  // only the session of the search just made
}

TEST_F(TokenTest, WrongPinIsRejectedOnceAndNeverSentAgain) {
  CallCounter calls;
  const auto wrong = SecretBytes::from_string("9999");
  try {
    (void)Login::open(token, wrong);
    FAIL() << "expected PinIncorrect";
  } catch (const PinIncorrect& e) {
    EXPECT_FALSE(e.resend_refused());
    EXPECT_EQ(e.rv(), CKR_PIN_INCORRECT);
    // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a failure, so "(few tries left)" may follow.
    EXPECT_EQ(
        std::string(e.what()).rfind("C_Login on token 'test': CKR_PIN_INCORRECT: wrong PIN", 0), 0u)
        << e.what();
  }
  EXPECT_EQ(CallCounter::count("C_Login"), 1);
  try {
    (void)Login::open(token, wrong);
    FAIL() << "expected PinIncorrect";
  } catch (const PinIncorrect& e) {
    EXPECT_TRUE(e.resend_refused());
    EXPECT_NE(std::string(e.what()).find("not sending it again"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CallCounter::count("C_Login"), 1);
  // The right PIN still works, and another wrong one is tried once.
  EXPECT_NO_THROW({ Login ok = Login::open(token, softhsm.pin()); });
  EXPECT_EQ(CallCounter::count("C_Login"), 2);
}

TEST_F(TokenTest, SecondLoginIsAlreadyLoggedInAndLastOneLogsOut) {
  Login first = Login::open(token, softhsm.pin());
  (void)generate_aes256_key(token, {"master", {0x03}});
  {
    Login second = Login::open(token, softhsm.pin());  // CKR_USER_ALREADY_LOGGED_IN is success
  }
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const CK_ATTRIBUTE search[] = {{CKA_CLASS, &secret_class, sizeof secret_class}};
  EXPECT_EQ(find_objects(token, search).size(), 1u)
      << "the first login must survive the second's end";
  first.close();
  EXPECT_EQ(find_objects(token, search).size(), 0u);
}

TEST_F(TokenTest, EmptyPinIsRefused) {
  EXPECT_THROW((void)Login::open(token, SecretBytes{}), BadArgument);
}

class FaultyTokenTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken softhsm{"faulty"};
  std::shared_ptr<Module> module = Module::load(IDVAULT_FAULT_MODULE);
  std::shared_ptr<Token> token = resolve_token(module, Uri::parse(softhsm.uri()));
  FaultControl faults;
  CallCounter calls;
};

TEST_F(FaultyTokenTest, LockedPinFailsWithoutATry) {
  faults.token_flags(CKF_USER_PIN_LOCKED);
  EXPECT_THROW((void)Login::open(token, softhsm.pin()), PinLocked);
  EXPECT_EQ(CallCounter::count("C_Login"), 0);
}

TEST_F(FaultyTokenTest, FinalTryIsSpentOnlyWhenAllowed) {
  faults.token_flags(CKF_USER_PIN_FINAL_TRY);
  try {
    (void)Login::open(token, softhsm.pin());
    FAIL() << "expected FinalTryRefused";
  } catch (const FinalTryRefused& e) {
    EXPECT_NE(std::string(e.what()).find("final PIN try"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CallCounter::count("C_Login"), 0);
  EXPECT_NO_THROW({ Login ok = Login::open(token, softhsm.pin(), {.allow_final_try = true}); });
  EXPECT_EQ(CallCounter::count("C_Login"), 1);
}

TEST_F(FaultyTokenTest, WrongPinReportsTriesLeftWhenTheTokenSays) {
  faults.force_login_result(CKR_PIN_INCORRECT);
  faults.token_flags(CKF_USER_PIN_FINAL_TRY);
  try {
    (void)Login::open(token, SecretBytes::from_string("0000"), {.allow_final_try = true});
    FAIL() << "expected PinIncorrect";
  } catch (const PinIncorrect& e) {
    EXPECT_EQ(e.tries_left(), 1);
    EXPECT_NE(std::string(e.what()).find("tries left: 1"), std::string::npos) << e.what();
  }
  faults.token_flags(CKF_USER_PIN_COUNT_LOW);
  try {
    (void)Login::open(token, SecretBytes::from_string("0001"));
    FAIL() << "expected PinIncorrect";
  } catch (const PinIncorrect& e) {
    EXPECT_FALSE(e.tries_left().has_value());
    EXPECT_TRUE(e.count_low());
  }
}

TEST_F(FaultyTokenTest, PinLockedByThisTryIsReportedAsLocked) {
  faults.force_login_result(CKR_PIN_LOCKED);
  EXPECT_THROW((void)Login::open(token, softhsm.pin()), PinLocked);
}

}  // namespace
}  // namespace idvault::p11::test
