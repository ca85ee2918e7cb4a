// Pkcs11Error: names, classes, messages.
#include "pkcs11/error.h"

#include <gtest/gtest.h>

namespace idvault::p11::test {
namespace {

TEST(Pkcs11Error, MessageNamesFunctionTokenAndCode) {
  const Pkcs11Error e(CKR_PIN_INCORRECT, "C_Login", "holder");
  EXPECT_STREQ(e.what(), "C_Login on token 'holder': CKR_PIN_INCORRECT");
  EXPECT_EQ(e.rv(), CKR_PIN_INCORRECT);
  EXPECT_EQ(e.function(), "C_Login");
  EXPECT_EQ(e.token(), "holder");
  EXPECT_EQ(e.error_class(), ErrorClass::user_error);
}

TEST(Pkcs11Error, NamesKnownCodesAndHexForUnknown) {
  EXPECT_EQ(rv_name(CKR_DEVICE_REMOVED), "CKR_DEVICE_REMOVED");
  EXPECT_EQ(rv_name(CKR_ARGUMENTS_BAD), "CKR_ARGUMENTS_BAD");
  EXPECT_EQ(rv_name(0x80001234UL), "CKR_0x80001234");
}

TEST(Pkcs11Error, ClassifiesOnce) {
  EXPECT_EQ(classify(CKR_DEVICE_REMOVED), ErrorClass::token_gone);
  EXPECT_EQ(classify(CKR_TOKEN_NOT_PRESENT), ErrorClass::token_gone);
  EXPECT_EQ(classify(CKR_SESSION_HANDLE_INVALID), ErrorClass::reopen_session);
  EXPECT_EQ(classify(CKR_USER_NOT_LOGGED_IN), ErrorClass::relogin);
  EXPECT_EQ(classify(CKR_CRYPTOKI_NOT_INITIALIZED), ErrorClass::reinitialize);
  EXPECT_EQ(classify(CKR_SESSION_COUNT), ErrorClass::retry);
  EXPECT_EQ(classify(CKR_MECHANISM_INVALID), ErrorClass::user_error);
  EXPECT_EQ(classify(CKR_GENERAL_ERROR), ErrorClass::fatal);
}

TEST(Pkcs11Error, TypedErrorsCarryTheirKind) {
  const TokenGone gone(CKR_DEVICE_REMOVED, "C_Decrypt", "holder");
  EXPECT_EQ(gone.kind(), ErrorKind::token_gone);
  EXPECT_EQ(gone.error_class(), ErrorClass::token_gone);
  const PinIncorrect pin("holder", 1, false, false);
  EXPECT_EQ(pin.tries_left(), 1);
  EXPECT_NE(std::string(pin.what()).find("tries left: 1"), std::string::npos) << pin.what();
  const AmbiguousToken ambiguous("pkcs11:", {"pkcs11:token=a", "pkcs11:token=b"});
  EXPECT_NE(std::string(ambiguous.what()).find("pkcs11:token=b"), std::string::npos);
}

}  // namespace
}  // namespace idvault::p11::test
