#include "vault/keys/software_keys.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fstream>

#include "common/openssl_owners.h"
#include "tests/support/sanitizer_build.h"
#include "tests/vault/wire/sample_passport.h"
#include "vault/model/errors.h"
#include "vault/wire/credentials.h"

namespace idvault::vault {
namespace {

using testing::random_bytes;

openssl::PKey read_private(const SecretBytes& pem) {
  const auto bio = openssl::make_memory_bio(pem.reveal().data(), pem.size());
  return openssl::PKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

SecretBytes traditional_pem(EVP_PKEY* key) {
  const auto bio = openssl::make_memory_bio();
  EXPECT_EQ(
      PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
      1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::from_string(std::string_view(data, static_cast<std::size_t>(size)));
}

std::string where_of_service_pem(const SecretBytes& pem) {
  try {
    (void)SoftwareServiceKey::from_pem(pem);
  } catch (const FormatError& e) {
    return e.where();
  }
  return "accepted";
}

TEST(SoftwareServiceKey, DecryptsWhatItsPublicKeyEncrypts) {
  const auto key = SoftwareServiceKey::generate();
  EXPECT_TRUE(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
  Credentials credentials;
  credentials.nonce = "n";
  const auto encrypted = encrypt_credentials(credentials, key.public_key_pem());
  EXPECT_EQ(decrypt_credentials(encrypted, key).nonce, "n");
}

TEST(SoftwareServiceKey, ReloadsFromPkcs8AndPkcs1Pem) {
  const auto key = SoftwareServiceKey::generate();
  const SecretBytes pkcs8 = key.private_key_pem();
  EXPECT_TRUE(pkcs8.reveal_text().starts_with("-----BEGIN PRIVATE KEY-----"));
  const auto reloaded = SoftwareServiceKey::from_pem(pkcs8);
  EXPECT_EQ(reloaded.public_key_pem(), key.public_key_pem());
  const auto pkey = read_private(pkcs8);
  const SecretBytes pkcs1 = traditional_pem(pkey.get());
  EXPECT_TRUE(pkcs1.reveal_text().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  EXPECT_EQ(SoftwareServiceKey::from_pem(pkcs1).public_key_pem(), key.public_key_pem());
}

TEST(SoftwareServiceKey, RejectsWhatIsNotAnRsaPrivateKey) {
  EXPECT_EQ(where_of_service_pem(SecretBytes::from_string("garbage")), "private_key");
  EXPECT_EQ(where_of_service_pem(
                SecretBytes::from_string(SoftwareServiceKey::generate().public_key_pem())),
            "private_key");
  EXPECT_EQ(where_of_service_pem(SoftwareSigningKey::generate().private_key_pem()), "private_key");
}

TEST(SoftwareServiceKey, AnyBadCiphertextIsOneDecryptError) {
  const auto key = SoftwareServiceKey::generate();
  for (const std::size_t size : {0u, 32u, 255u, 256u, 257u}) {
    try {
      (void)key.decrypt_oaep_sha1(random_bytes(size));
      ADD_FAILURE() << size;
    } catch (const DecryptError& e) {
      EXPECT_STREQ(e.what(), "decryption failed");
    }
  }
}

TEST(SoftwareServiceKey, LargerKeysWork) {
  const auto key = SoftwareServiceKey::generate(3072);
  Credentials credentials;
  credentials.nonce = "n";
  EXPECT_EQ(decrypt_credentials(encrypt_credentials(credentials, key.public_key_pem()), key).nonce,
            "n");
  EXPECT_THROW((void)SoftwareServiceKey::generate(512), std::invalid_argument);
}

// Verifies an r||s signature with OpenSSL directly, after turning it back into DER.
bool verifies(const Bytes& spki, const Bytes& signature, const Bytes& message) {
  const unsigned char* cursor = spki.data();
  const openssl::PKey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(spki.size())));
  if (!key || signature.size() != 64) return false;
  const openssl::EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (ECDSA_SIG_set0(sig.get(), r, s) != 1) return false;  // sig owns r and s from here
  Bytes der(static_cast<std::size_t>(i2d_ECDSA_SIG(sig.get(), nullptr)));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig.get(), &out);
  const auto ctx = openssl::make_digest_ctx();
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size()) == 1;
}

TEST(SoftwareSigningKey, SignsEs256AsRAndSThatOpenSslVerifies) {
  const auto key = SoftwareSigningKey::generate();
  const Bytes message = testing::bytes_of("receipt: nonce=abc");
  const Bytes signature = key.sign_es256(message);
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_TRUE(verifies(key.public_key_spki_der(), signature, message));
  Bytes other = message;
  other[0] ^= 1;
  EXPECT_FALSE(verifies(key.public_key_spki_der(), signature, other));
  Bytes bent = signature;
  bent[40] ^= 1;
  EXPECT_FALSE(verifies(key.public_key_spki_der(), bent, message));
}

TEST(SoftwareSigningKey, PublicKeyIsP256Spki) {
  const auto spki = SoftwareSigningKey::generate().public_key_spki_der();
  const unsigned char* cursor = spki.data();
  const openssl::PKey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(spki.size())));
  ASSERT_TRUE(key);
  char group[64] = {};
  std::size_t size = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, &size), 1);
  EXPECT_EQ(std::string_view(group, size), "prime256v1");
}

TEST(SoftwareSigningKey, ReloadsFromPemAndRejectsOtherKeys) {
  const auto key = SoftwareSigningKey::generate();
  const auto reloaded = SoftwareSigningKey::from_pem(key.private_key_pem());
  EXPECT_EQ(reloaded.public_key_spki_der(), key.public_key_spki_der());
  const Bytes message = testing::bytes_of("m");
  EXPECT_TRUE(verifies(key.public_key_spki_der(), reloaded.sign_es256(message), message));
  EXPECT_THROW((void)SoftwareSigningKey::from_pem(SoftwareServiceKey::generate().private_key_pem()),
               FormatError);
  const openssl::PKey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_TRUE(p384);
  EXPECT_THROW((void)SoftwareSigningKey::from_pem(traditional_pem(p384.get())), FormatError);
}

TEST(SoftwareMasterKey, WrapsAndUnwrapsSecretsOfAnySize) {
  const auto key = SoftwareMasterKey::generate();
  for (const std::size_t size : {1u, 7u, 8u, 32u, 33u, 100u}) {
    const SecretBytes secret(random_bytes(size));
    const Bytes wrapped = key.wrap(secret);
    EXPECT_EQ(wrapped.size(), (size + 7) / 8 * 8 + 8);
    EXPECT_TRUE(key.unwrap(wrapped).equals(secret.reveal())) << size;
  }
}

TEST(SoftwareMasterKey, RejectsWhatItDidNotWrap) {
  const auto key = SoftwareMasterKey::generate();
  const SecretBytes secret(random_bytes(32));
  const Bytes wrapped = key.wrap(secret);
  EXPECT_THROW((void)SoftwareMasterKey::generate().unwrap(wrapped), DecryptError);
  for (const std::size_t at : {std::size_t{0}, wrapped.size() - 1}) {
    Bytes bent = wrapped;
    bent[at] ^= 0x01;
    EXPECT_THROW((void)key.unwrap(bent), DecryptError);
  }
  EXPECT_THROW((void)key.unwrap(Bytes(wrapped.begin(), wrapped.end() - 8)), DecryptError);
  EXPECT_THROW((void)key.unwrap(Bytes(wrapped.begin(), wrapped.end() - 1)), DecryptError);
  EXPECT_THROW((void)key.unwrap(Bytes{}), DecryptError);
}

TEST(SoftwareMasterKey, SameKeyBytesUnwrapTheSame) {
  const SecretBytes key_bytes(random_bytes(32));
  const auto a = SoftwareMasterKey::from_bytes(key_bytes.clone());
  const auto b = SoftwareMasterKey::from_bytes(key_bytes.clone());
  const SecretBytes secret(random_bytes(32));
  EXPECT_TRUE(b.unwrap(a.wrap(secret)).equals(secret.reveal()));
  EXPECT_THROW((void)SoftwareMasterKey::from_bytes(SecretBytes(31)), FormatError);
}

}  // namespace
}  // namespace idvault::vault

namespace {
// Locked memory of this process, in kB, as the kernel counts it.
long locked_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}
}  // namespace

TEST(SoftwareMasterKeyMemory, TheKeyIsLockedInRamForItsLife) {
  if (idvault::testing::kUnderAddressSanitizer) {
    // AddressSanitizer replaces mlock() with a no-op that reports success, so VmLck never
    // moves: there is nothing to observe in that tree.
    GTEST_SKIP() << "mlock is a no-op under AddressSanitizer";
  }
  const long before = locked_kib();
  {
    auto key = idvault::vault::SoftwareMasterKey::generate();
    ASSERT_TRUE(key.locked_in_memory()) << "mlock refused (RLIMIT_MEMLOCK too small?)";
    EXPECT_GT(locked_kib(), before);
    auto moved = std::move(key);
    EXPECT_TRUE(moved.locked_in_memory());
    EXPECT_FALSE(
        key.locked_in_memory());  // NOLINT(bugprone-use-after-move): checking the hand-over
    EXPECT_GT(locked_kib(), before);
  }
  EXPECT_EQ(locked_kib(), before);
}
