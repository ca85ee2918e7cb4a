// The vault key interface on SoftHSM keys, checked with OpenSSL on the host.
#include "vault/keys/token_keys.h"

#include <gtest/gtest.h>

#include "pkcs11/error.h"
#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/token_resolver.h"
#include "tests/support/host_crypto.h"
#include "tests/support/softhsm_token.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

class TokenKeysTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken softhsm{"holder"};
  std::shared_ptr<p11::Token> token = p11::open_token(softhsm.uri(), softhsm.module_path());
  p11::Login login = p11::Login::open(token, softhsm.pin());
};

TEST_F(TokenKeysTest, ServiceKeyDecryptsWhatOpenSslEncryptedToItsPem) {
  (void)p11::generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  const auto key = TokenServiceKey::from_uri(token, "pkcs11:token=holder;object=service");
  auto public_key = idvault::testing::load_public_pem(key.public_key_pem());
  const p11::Bytes secret = idvault::testing::random_bytes(32);
  const SecretBytes plaintext =
      key.decrypt_oaep_sha1(idvault::testing::oaep_encrypt(*public_key, secret));
  EXPECT_TRUE(plaintext.equals(secret));
}

TEST_F(TokenKeysTest, ServiceKeyGivesOneErrorForEveryBadCiphertext) {
  (void)p11::generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  const auto key = TokenServiceKey::from_uri(token, "pkcs11:object=service");
  auto other = idvault::testing::generate_rsa_host_key(2048);
  const p11::Bytes foreign =
      idvault::testing::oaep_encrypt(*other, idvault::testing::random_bytes(32));
  std::string first_message;
  for (const p11::Bytes& bad :
       {foreign, p11::Bytes(256, 0x01), p11::Bytes(10, 0x00), p11::Bytes{}}) {
    try {
      (void)key.decrypt_oaep_sha1(bad);
      ADD_FAILURE() << "a bad ciphertext decrypted";
    } catch (const DecryptError& e) {
      if (first_message.empty()) first_message = e.what();
      EXPECT_EQ(first_message, e.what());
    }
  }
}

TEST_F(TokenKeysTest, ServiceKeyOnARemovedTokenSaysSo) {
  (void)p11::generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  const auto key = TokenServiceKey::from_uri(token, "pkcs11:object=service");
  auto public_key = idvault::testing::load_public_pem(key.public_key_pem());
  const p11::Bytes ciphertext =
      idvault::testing::oaep_encrypt(*public_key, idvault::testing::random_bytes(32));
  softhsm.remove();
  EXPECT_THROW((void)key.decrypt_oaep_sha1(ciphertext), p11::TokenGone);
}

TEST_F(TokenKeysTest, SigningKeyMakesEs256ThatOpenSslVerifies) {
  (void)p11::generate_ec_p256_key_pair(token, {"identity", {0x02}});
  const auto key = TokenSigningKey::from_uri(token, "pkcs11:object=identity");
  const p11::Bytes message{'r', 'e', 'c', 'e', 'i', 'p', 't'};
  const p11::Bytes signature = key.sign_es256(message);
  ASSERT_EQ(signature.size(), 64u);
  auto public_key = idvault::testing::load_public_der(key.public_key_spki_der());
  EXPECT_TRUE(idvault::testing::verify_ecdsa_sha256_der(*public_key, message,
                                                        p11::ecdsa_raw_to_der(signature)));
  p11::Bytes altered = message;
  altered[0] ^= 1;
  EXPECT_FALSE(idvault::testing::verify_ecdsa_sha256_der(*public_key, altered,
                                                         p11::ecdsa_raw_to_der(signature)));
}

TEST_F(TokenKeysTest, MasterKeyWrapsAndUnwrapsValueSecretsInBothModes) {
  (void)p11::generate_aes256_key(token, {"master", {0x03}});
  EXPECT_EQ(choose_master_key_mode(*token), TokenMasterKey::Mode::key_wrap_pad);
  for (auto mode : {TokenMasterKey::Mode::key_wrap_pad, TokenMasterKey::Mode::aes_gcm}) {
    const auto key = TokenMasterKey::from_uri(token, "pkcs11:object=master", mode);
    const SecretBytes secret(idvault::testing::random_bytes(32));
    p11::Bytes wrapped = key.wrap(secret);
    EXPECT_EQ(wrapped.size(), mode == TokenMasterKey::Mode::key_wrap_pad ? 40u : 60u);
    EXPECT_TRUE(key.unwrap(wrapped).equals(secret.reveal()));
    wrapped[wrapped.size() / 2] ^= 0x01;
    EXPECT_THROW((void)key.unwrap(wrapped), DecryptError);
  }
}

TEST_F(TokenKeysTest, MasterKeyRejectsWhatAnotherMasterKeyWrapped) {
  (void)p11::generate_aes256_key(token, {"master", {0x03}});
  (void)p11::generate_aes256_key(token, {"other", {0x04}});
  const auto mine = TokenMasterKey::from_uri(token, "pkcs11:object=master");
  const auto theirs = TokenMasterKey::from_uri(token, "pkcs11:object=other");
  const p11::Bytes wrapped = theirs.wrap(SecretBytes(idvault::testing::random_bytes(32)));
  EXPECT_THROW((void)mine.unwrap(wrapped), DecryptError);
}

TEST_F(TokenKeysTest, UriNamingNoSuchKeyIsAClearError) {
  EXPECT_THROW((void)TokenServiceKey::from_uri(token, "pkcs11:object=absent"), p11::ObjectNotFound);
  EXPECT_THROW((void)TokenSigningKey::from_uri(token, "not a uri"), p11::UriError);
}

}  // namespace
}  // namespace idvault::vault
