// Key generation, lookup by URI/label/id, public key export.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/host_crypto.h"

namespace idvault::p11::test {
namespace {

TEST_F(LoggedInTest, AesKeyIsSensitiveNonExtractableAndOnToken) {
  const Object key = generate_aes256_key(token, {"master", {0x03}});
  EXPECT_EQ(key.object_class(), CKO_SECRET_KEY);
  EXPECT_EQ(key.key_type(), CKK_AES);
  EXPECT_EQ(key.ulong_attribute(CKA_VALUE_LEN), 32u);
  EXPECT_TRUE(key.flag(CKA_SENSITIVE));
  EXPECT_FALSE(key.flag(CKA_EXTRACTABLE));
  EXPECT_TRUE(key.flag(CKA_TOKEN));
  EXPECT_TRUE(key.flag(CKA_WRAP));
  EXPECT_TRUE(key.flag(CKA_UNWRAP));
  EXPECT_FALSE(key.try_attribute(CKA_VALUE).has_value()) << "the key value must not be readable";
  EXPECT_EQ(key.label(), "master");
}

class RsaKeygenTest : public LoggedInTest, public ::testing::WithParamInterface<CK_ULONG> {};

TEST_P(RsaKeygenTest, MakesAPairWithTheAskedSizeAndExportsIt) {
  const CK_ULONG bits = GetParam();
  const KeyPair pair = generate_rsa_key_pair(token, bits, {"service", {0x01}});
  EXPECT_TRUE(pair.private_key.flag(CKA_SENSITIVE));
  EXPECT_FALSE(pair.private_key.flag(CKA_EXTRACTABLE));
  EXPECT_TRUE(pair.private_key.flag(CKA_TOKEN));
  EXPECT_EQ(pair.private_key.id(), Bytes{0x01});
  auto from_public = public_key_of(pair.public_key);
  auto from_private = public_key_of(pair.private_key);
  EXPECT_EQ(EVP_PKEY_get_bits(from_public.get()), static_cast<int>(bits));
  EXPECT_EQ(spki_der(*from_public), spki_der(*from_private));
  // The PEM is what OpenSSL reads back to the same key.
  auto reread = idvault::testing::load_public_pem(spki_pem(*from_public));
  EXPECT_EQ(spki_der(*reread), spki_der(*from_public));
  EXPECT_EQ(spki_fingerprint(*from_public).size(), 64u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, RsaKeygenTest, ::testing::Values(2048, 3072));

TEST_F(LoggedInTest, RsaKeySizeOutsideTheListIsRefused) {
  try {
    (void)generate_rsa_key_pair(token, 1024, {"weak", {}});
    FAIL() << "expected BadArgument";
  } catch (const BadArgument& e) {
    EXPECT_NE(std::string(e.what()).find("1024"), std::string::npos) << e.what();
  }
}

TEST_F(LoggedInTest, EcP256PairExportsAsP256Spki) {
  const KeyPair pair = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  EXPECT_TRUE(pair.private_key.flag(CKA_SENSITIVE));
  EXPECT_FALSE(pair.private_key.flag(CKA_EXTRACTABLE));
  auto key = public_key_of(pair.private_key);  // via the public half with the same CKA_ID
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[64] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, &group_len), 1);
  EXPECT_STREQ(group, "prime256v1");
  const Bytes der = spki_der(*key);
  EXPECT_EQ(der.size(), 91u);  // SPKI of an uncompressed P-256 point
}

TEST_F(LoggedInTest, FindsKeysByUriLabelAndId) {
  const KeyPair ec = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  const KeyPair rsa = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  EXPECT_EQ(
      find_object(token, Uri::parse("pkcs11:token=test;object=identity;type=private")).handle(),
      ec.private_key.handle());
  EXPECT_EQ(find_object(token, Uri::parse("pkcs11:id=%01;type=public")).handle(),
            rsa.public_key.handle());
  EXPECT_EQ(find_key(token, CKO_PRIVATE_KEY, "service", Bytes{0x01}).handle(),
            rsa.private_key.handle());
  // An object's own URI finds it again.
  const std::string uri = ec.private_key.uri();
  EXPECT_NE(uri.find("object=identity"), std::string::npos) << uri;
  EXPECT_NE(uri.find("type=private"), std::string::npos) << uri;
  EXPECT_EQ(find_object(token, Uri::parse(uri)).handle(), ec.private_key.handle());
}

TEST_F(LoggedInTest, MissingObjectIsAClearError) {
  try {
    (void)find_object(token, Uri::parse("pkcs11:object=nosuch;type=private"));
    FAIL() << "expected ObjectNotFound";
  } catch (const ObjectNotFound& e) {
    EXPECT_NE(std::string(e.what()).find("object=nosuch"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)find_key(token, CKO_SECRET_KEY, "nosuch"), ObjectNotFound);
}

TEST_F(LoggedInTest, UriThatMatchesSeveralObjectsIsRefused) {
  (void)generate_ec_p256_key_pair(token, {"identity", {0x02}});
  try {
    (void)find_object(token, Uri::parse("pkcs11:object=identity"));  // public and private
    FAIL() << "expected BadArgument";
  } catch (const BadArgument& e) {
    EXPECT_NE(std::string(e.what()).find("2 objects match"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)find_object(token, Uri::parse("pkcs11:token=test")), BadArgument);
}

TEST_F(TokenTest, PrivateKeysNeedALogin) {
  EXPECT_THROW((void)generate_ec_p256_key_pair(token, {"identity", {0x02}}), Pkcs11Error);
}

}  // namespace
}  // namespace idvault::p11::test
