// Operations on token keys, checked against OpenSSL on the host.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "pkcs11/aes.h"
#include "pkcs11/ecdsa.h"
#include "pkcs11/keygen.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/random.h"
#include "pkcs11/rsa.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/host_crypto.h"

namespace idvault::p11::test {
namespace {

using idvault::testing::oaep_encrypt;
using idvault::testing::random_bytes;

const Bytes kMessage{'s', 'h', 'a', 'r', 'e', ' ', 'r', 'e', 'c', 'e', 'i', 'p', 't'};

TEST_F(LoggedInTest, RsaOaepSha1DecryptsWhatOpenSslEncrypted) {
  const KeyPair pair = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  auto public_key = public_key_of(pair.public_key);
  const Bytes secret = random_bytes(32);
  const RsaPrivateKey key(pair.private_key);
  EXPECT_EQ(key.modulus_bytes(), 256u);
  const SecretBytes plaintext = key.decrypt_oaep(oaep_encrypt(*public_key, secret));
  EXPECT_TRUE(plaintext.equals(secret));
}

TEST_F(LoggedInTest, RsaOaepSha256RejectionIsAClearUnsupportedMechanism) {
  const KeyPair pair = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  auto public_key = public_key_of(pair.public_key);
  const RsaPrivateKey key(pair.private_key);
  const Bytes secret = random_bytes(32);
  const Bytes ciphertext = oaep_encrypt(*public_key, secret, true);
  try {
    const SecretBytes plaintext = key.decrypt_oaep(ciphertext, OaepHash::sha256);
    // A token that does support it must then get it right.
    EXPECT_TRUE(plaintext.equals(secret))
        << "the token accepted OAEP-SHA256 but decrypted something else";
  } catch (const UnsupportedMechanism& e) {
    EXPECT_EQ(e.function(), "C_DecryptInit");
    EXPECT_EQ(e.rv(), CKR_ARGUMENTS_BAD);  // SoftHSM 2.6.1's answer
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
    EXPECT_FALSE(token->capabilities().rsa_oaep_sha256) << "the rejection is remembered";
  }
}

TEST_F(LoggedInTest, CiphertextForAnotherKeyFailsWithoutCrashing) {
  const KeyPair pair = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  auto other = idvault::testing::generate_rsa_host_key(2048);
  const RsaPrivateKey key(pair.private_key);
  try {
    (void)key.decrypt_oaep(oaep_encrypt(*other, random_bytes(32)));
    FAIL() << "expected Pkcs11Error";
  } catch (const TokenGone&) {
    FAIL() << "a wrong ciphertext must not look like removal";
  } catch (const Pkcs11Error& e) {
    EXPECT_EQ(e.function(), "C_Decrypt");
    EXPECT_EQ(e.token(), "test");
  }
}

TEST_F(LoggedInTest, RsaPssSignatureVerifiesWithOpenSsl) {
  const KeyPair pair = generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  auto public_key = public_key_of(pair.public_key);
  const Bytes signature = RsaPrivateKey(pair.private_key).sign_pss_sha256(kMessage);
  EXPECT_EQ(signature.size(), 256u);
  EXPECT_TRUE(idvault::testing::verify_pss_sha256(*public_key, kMessage, signature));
  Bytes other = kMessage;
  other[0] ^= 1;
  EXPECT_FALSE(idvault::testing::verify_pss_sha256(*public_key, other, signature));
}

TEST_F(LoggedInTest, EcdsaSignatureVerifiesWithOpenSslInBothForms) {
  const KeyPair pair = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  auto public_key = public_key_of(pair.public_key);
  const EcdsaSignature signature = EcPrivateKey(pair.private_key).sign_sha256(kMessage);
  ASSERT_EQ(signature.raw.size(), 64u);
  EXPECT_EQ(signature.der, ecdsa_raw_to_der(signature.raw));
  EXPECT_TRUE(idvault::testing::verify_ecdsa_sha256_der(*public_key, kMessage, signature.der));
  Bytes other = kMessage;
  other.back() ^= 1;
  EXPECT_FALSE(idvault::testing::verify_ecdsa_sha256_der(*public_key, other, signature.der));
}

TEST_F(LoggedInTest, WrongKeyTypeIsRefused) {
  const KeyPair pair = generate_ec_p256_key_pair(token, {"identity", {0x02}});
  EXPECT_THROW(RsaPrivateKey{pair.private_key}, BadArgument);
  EXPECT_THROW(EcPrivateKey{pair.public_key}, BadArgument);
  EXPECT_THROW(AesKey{pair.private_key}, BadArgument);
}

TEST_F(LoggedInTest, AesKeyWrapRoundTripsASecret) {
  const AesKey key(generate_aes256_key(token, {"master", {0x03}}));
  const SecretBytes secret(random_bytes(32));
  const Bytes wrapped = key.wrap_secret(secret);
  EXPECT_EQ(wrapped.size(), 40u);
  EXPECT_EQ(key.wrap_secret(secret), wrapped) << "RFC 5649 is deterministic";
  EXPECT_TRUE(key.unwrap_secret(wrapped).equals(secret.reveal()));
  const SecretBytes longer(random_bytes(64));
  EXPECT_TRUE(key.unwrap_secret(key.wrap_secret(longer)).equals(longer.reveal()));
  // SoftHSM 2.6.1 would hand back a 13-byte secret padded to 16: refused up front.
  EXPECT_THROW((void)key.wrap_secret(SecretBytes(random_bytes(13))), BadArgument);
  // No temporary objects are left behind.
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const CK_ATTRIBUTE search[] = {{CKA_CLASS, &secret_class, sizeof secret_class}};
  EXPECT_EQ(find_objects(token, search).size(), 1u);
}

TEST_F(LoggedInTest, TamperedOrForeignWrapIsAuthenticationFailure) {
  const AesKey key(generate_aes256_key(token, {"master", {0x03}}));
  const AesKey other(generate_aes256_key(token, {"other", {0x04}}));
  const SecretBytes secret(random_bytes(32));
  Bytes wrapped = key.wrap_secret(secret);
  EXPECT_THROW((void)other.unwrap_secret(wrapped), AuthenticationFailed);
  wrapped[5] ^= 0x01;
  EXPECT_THROW((void)key.unwrap_secret(wrapped), AuthenticationFailed);
  EXPECT_THROW((void)key.unwrap_secret(Bytes(7, 0)), AuthenticationFailed);
  EXPECT_THROW((void)key.wrap_secret(SecretBytes{}), BadArgument);
}

TEST_F(LoggedInTest, AesGcmRoundTripsWithAad) {
  const AesKey key(generate_aes256_key(token, {"master", {0x03}}));
  const SecretBytes secret(random_bytes(32));
  const Bytes aad{'v', 'a', 'l', 'u', 'e', '/', '1'};
  const Bytes sealed = key.gcm_encrypt(secret, aad);
  EXPECT_EQ(sealed.size(), 12u + 32u + 16u);
  EXPECT_NE(key.gcm_encrypt(secret, aad), sealed) << "each seal uses a fresh IV";
  EXPECT_TRUE(key.gcm_decrypt(sealed, aad).equals(secret.reveal()));
}

TEST_F(LoggedInTest, TamperedGcmIsAuthenticationFailure) {
  const AesKey key(generate_aes256_key(token, {"master", {0x03}}));
  const SecretBytes secret(random_bytes(32));
  const Bytes aad{'a', 'a', 'd'};
  const Bytes sealed = key.gcm_encrypt(secret, aad);
  for (std::size_t position :
       {std::size_t{0}, std::size_t{20}, sealed.size() - 1}) {  // IV, body, tag
    Bytes tampered = sealed;
    tampered[position] ^= 0x80;
    try {
      (void)key.gcm_decrypt(tampered, aad);
      ADD_FAILURE() << "tampering at " << position << " went unnoticed";
    } catch (const AuthenticationFailed& e) {
      EXPECT_NE(std::string(e.what()).find("authentication failed"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW((void)key.gcm_decrypt(sealed, Bytes{'x'}), AuthenticationFailed);
  EXPECT_THROW((void)key.gcm_decrypt(Bytes(20, 0), aad), AuthenticationFailed);
  EXPECT_TRUE(key.gcm_decrypt(sealed, aad).equals(secret.reveal()))
      << "failures must not poison the pool";
}

TEST_F(TokenTest, RandomBytesComeFromTheToken) {
  CallCounter calls;
  const SecretBytes a = generate_random(*token, 32);
  const SecretBytes b = generate_random(*token, 32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a.equals(b.reveal()));
  EXPECT_EQ(CallCounter::count("C_GenerateRandom"), 2);
}

TEST_F(TokenTest, CapabilitiesOfSoftHsm) {
  const Capabilities caps = token->capabilities();
  EXPECT_FALSE(caps.read_only);
  EXPECT_TRUE(caps.aes_keygen);
  EXPECT_TRUE(caps.aes_key_wrap_pad);
  EXPECT_TRUE(caps.unwrap);
  EXPECT_TRUE(caps.aes_gcm);
  EXPECT_TRUE(caps.rsa_keygen);
  EXPECT_TRUE(caps.rsa_oaep_sha1);
  EXPECT_TRUE(caps.rsa_pss);
  EXPECT_TRUE(caps.ec_keygen);
  EXPECT_TRUE(caps.ecdsa);
  EXPECT_TRUE(caps.random);
  EXPECT_NE(caps.describe().find("aes_key_wrap_pad: yes"), std::string::npos);
}

TEST_F(TokenTest, AskingForAMechanismTheTokenLacksIsClear) {
  EXPECT_FALSE(token->offers(CKM_ECDSA_SHA256, CKF_SIGN));  // SoftHSM has raw ECDSA only
  try {
    token->require(CKM_ECDSA_SHA256, CKF_SIGN, "ECDSA with SHA-256");
    FAIL() << "expected UnsupportedMechanism";
  } catch (const UnsupportedMechanism& e) {
    EXPECT_NE(std::string(e.what()).find("ECDSA with SHA-256"), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::unsupported_mechanism);
  }
}

}  // namespace
}  // namespace idvault::p11::test
