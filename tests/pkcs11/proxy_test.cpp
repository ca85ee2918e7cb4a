// The same layer through p11-kit's proxy module, which loads SoftHSM by its .module file
// (and honours SOFTHSM2_CONF) next to whatever else is configured: catches assumptions
// that only hold for SoftHSM loaded directly. The proxy and a direct SoftHSM load must
// not share a process (SoftHSM would be initialised twice), so these tests load only
// the proxy.
#include <gtest/gtest.h>

#include "pkcs11/ecdsa.h"
#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/rsa.h"
#include "pkcs11/token_info.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/host_crypto.h"

namespace idvault::p11::test {
namespace {

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    softhsm.environment().add_token("bystander");
    module = Module::load(idvault::testing::p11kit_proxy_path());
  }
  idvault::testing::SoftHsmToken softhsm{"proxied"};
  std::shared_ptr<Module> module;
};

TEST_F(ProxyTest, FindsOurTokenByUriAmongOthers) {
  EXPECT_GE(list_tokens(*module).size(), 2u);
  EXPECT_THROW((void)resolve_token(module, Uri::parse("pkcs11:")), AmbiguousToken);
  auto token = resolve_token(module, Uri::parse(softhsm.uri()));
  EXPECT_EQ(token->label(), "proxied");
  EXPECT_NE(token->uri().find("token=proxied"), std::string::npos);
}

TEST_F(ProxyTest, SignsAndDecryptsThroughTheProxy) {
  auto token = resolve_token(module, Uri::parse(softhsm.uri()));
  Login login = Login::open(token, softhsm.pin());
  const KeyPair ec = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  const KeyPair rsa = generate_rsa_key_pair(token, 2048, {"service", {0x01}});

  const Object signing = find_object(token, Uri::parse("pkcs11:object=identity;type=private"));
  const Bytes message{'h', 'i'};
  const auto signature = EcPrivateKey(signing).sign_sha256(message);
  auto ec_public = public_key_of(ec.public_key);
  EXPECT_TRUE(idvault::testing::verify_ecdsa_sha256_der(*ec_public, message, signature.der));

  const Object decrypting = find_object(token, Uri::parse("pkcs11:object=service;type=private"));
  auto rsa_public = public_key_of(rsa.public_key);
  const Bytes secret = idvault::testing::random_bytes(32);
  const auto plaintext =
      RsaPrivateKey(decrypting).decrypt_oaep(idvault::testing::oaep_encrypt(*rsa_public, secret));
  EXPECT_TRUE(plaintext.equals(secret));
}

}  // namespace
}  // namespace idvault::p11::test
