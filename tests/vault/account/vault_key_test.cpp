// The vault key VK of a cloud account on two throwaway SoftHSM2 tokens ("desk" and
// "laptop", two devices of one account), checked against OpenSSL on the host.
#include "vault/account/vault_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>

#include "common/pem.h"
#include "pkcs11/error.h"
#include "pkcs11/login.h"
#include "pkcs11/module.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "tests/support/host_crypto.h"
#include "tests/support/softhsm_token.h"
#include "vault/keys/token_keys.h"

namespace idvault::vault {
namespace {

using idvault::testing::random_bytes;

// EVP_aes_256_wrap_pad straight from OpenSSL: the master key's format today.
Bytes openssl_kwp(ByteView key, ByteView secret) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  Bytes out(secret.size() + 16);
  int written = 0;
  int final_written = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap_pad(), nullptr, key.data(), nullptr) == 1 &&
      EVP_EncryptUpdate(ctx, out.data(), &written, secret.data(),
                        static_cast<int>(secret.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, out.data() + written, &final_written) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error("EVP_aes_256_wrap_pad failed");
  out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written));
  return out;
}

// Two devices' tokens in one SoftHSM environment; the laptop has its slot key. One RSA
// key generation per test (each test runs in its own process).
class VaultKeyTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmEnvironment env;
  std::shared_ptr<p11::Module> module = load_module();
  std::shared_ptr<p11::Token> desk =
      p11::resolve_token(module, p11::Uri::parse("pkcs11:token=desk"));
  std::shared_ptr<p11::Token> laptop =
      p11::resolve_token(module, p11::Uri::parse("pkcs11:token=laptop"));
  p11::Login desk_login = p11::Login::open(desk, SecretBytes::from_string("1234"));
  p11::Login laptop_login = p11::Login::open(laptop, SecretBytes::from_string("1234"));
  DeviceSlotKey laptop_slot = generate_device_slot_key(laptop, {"slot", {0x51}});

 private:
  // After the tokens exist: SoftHSM reads its token directory at C_Initialize.
  std::shared_ptr<p11::Module> load_module() {
    env.add_token("desk");
    env.add_token("laptop");
    return p11::Module::load(idvault::testing::softhsm_module_path());
  }
};

TEST_F(VaultKeyTest, SlotSealedOnOneTokenOpensOnTheOtherAndSecretsCrossBothWays) {
  const TokenVaultKey on_desk = TokenVaultKey::generate(desk);
  const Bytes slot = on_desk.seal_to(laptop_slot.public_key_spki_der);
  EXPECT_EQ(slot.size(), 256u);
  const TokenVaultKey on_laptop = TokenVaultKey::open_slot(laptop_slot.private_key, slot);

  const SecretBytes value_secret(random_bytes(32));
  const Bytes from_desk = on_desk.wrap(value_secret);
  EXPECT_EQ(from_desk.size(), 40u);
  EXPECT_TRUE(on_laptop.unwrap(from_desk).equals(value_secret.reveal()));
  const Bytes from_laptop = on_laptop.wrap(value_secret);
  EXPECT_EQ(from_laptop, from_desk);  // KWP is deterministic: one key, one wrapping
  EXPECT_TRUE(on_desk.unwrap(from_laptop).equals(value_secret.reveal()));

  Bytes altered = from_desk;
  altered[5] ^= 0x01;
  EXPECT_THROW((void)on_laptop.unwrap(altered), DecryptError);

  // Held as the vault holds its master key: moved into place, the temporary it came from
  // gone without taking the session object with it.
  const std::unique_ptr<MasterKey> held =
      std::make_unique<TokenVaultKey>(TokenVaultKey::open_slot(laptop_slot.private_key, slot));
  EXPECT_TRUE(held->unwrap(from_desk).equals(value_secret.reveal()));
}

TEST_F(VaultKeyTest, MemoryAndTokenFormsOpenEachOthersSecrets) {
  // The PIV path: the slot opened with C_Decrypt by the slot key, VK held in memory.
  const TokenServiceKey decryptor(laptop_slot.private_key.object());
  const TokenVaultKey on_desk = TokenVaultKey::generate(desk);
  const MemoryVaultKey in_memory =
      MemoryVaultKey::open_slot(decryptor, on_desk.seal_to(laptop_slot.public_key_spki_der));
  const SecretBytes item_secret(random_bytes(32));
  EXPECT_EQ(in_memory.wrap(item_secret), on_desk.wrap(item_secret));
  EXPECT_TRUE(in_memory.unwrap(on_desk.wrap(item_secret)).equals(item_secret.reveal()));
  EXPECT_TRUE(on_desk.unwrap(in_memory.wrap(item_secret)).equals(item_secret.reveal()));

  // And the other way: a VK made in memory, sealed in software, opened on a token.
  const MemoryVaultKey made_in_memory = MemoryVaultKey::generate();
  const TokenVaultKey on_laptop = TokenVaultKey::open_slot(
      laptop_slot.private_key, made_in_memory.seal_to(laptop_slot.public_key_spki_der));
  EXPECT_TRUE(on_laptop.unwrap(made_in_memory.wrap(item_secret)).equals(item_secret.reveal()));
  EXPECT_TRUE(made_in_memory.unwrap(on_laptop.wrap(item_secret)).equals(item_secret.reveal()));
  EXPECT_THROW((void)in_memory.unwrap(made_in_memory.wrap(item_secret)), DecryptError);
}

TEST_F(VaultKeyTest, WrappedFormatIsOpenSslAes256WrapPadOfTheSameKey) {
  Bytes known_key(32);
  for (std::size_t i = 0; i < known_key.size(); ++i) known_key[i] = static_cast<std::uint8_t>(i);
  auto slot_public = idvault::testing::load_public_der(laptop_slot.public_key_spki_der);
  const Bytes slot = idvault::testing::oaep_encrypt(*slot_public, known_key);
  const TokenVaultKey on_token = TokenVaultKey::open_slot(laptop_slot.private_key, slot);
  const MemoryVaultKey in_memory =
      MemoryVaultKey::open_slot(TokenServiceKey(laptop_slot.private_key.object()), slot);

  Bytes secret(32);
  for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<std::uint8_t>(0xa0 + i);
  const Bytes expected = openssl_kwp(known_key, secret);
  EXPECT_EQ(on_token.wrap(SecretBytes(secret)), expected);
  EXPECT_EQ(in_memory.wrap(SecretBytes(secret)), expected);
  // Software KWP takes any length the master key's does (the token, multiples of 8).
  const Bytes odd(secret.begin(), secret.begin() + 20);
  EXPECT_EQ(in_memory.wrap(SecretBytes(odd)), openssl_kwp(known_key, odd));
  EXPECT_TRUE(in_memory.unwrap(openssl_kwp(known_key, odd)).equals(odd));
}

TEST_F(VaultKeyTest, TokenSealsWithRsaOaepSha1AsOpenSslReadsIt) {
  // A slot key held by OpenSSL: what the token's C_WrapKey made must be plain RSA-OAEP
  // with SHA-1 and MGF1-SHA-1, or a PIV card or another module could not open it.
  const auto host_slot_key = SoftwareServiceKey::generate(2048);
  const Bytes host_slot_spki = spki_der_from_pem(host_slot_key.public_key_pem(), "slot_key");
  const TokenVaultKey on_desk = TokenVaultKey::generate(desk);
  const MemoryVaultKey read_by_openssl =
      MemoryVaultKey::open_slot(host_slot_key, on_desk.seal_to(host_slot_spki));
  const SecretBytes value_secret(random_bytes(32));
  EXPECT_EQ(read_by_openssl.wrap(value_secret), on_desk.wrap(value_secret));
}

TEST_F(VaultKeyTest, SlotSealedToAnotherKeyDoesNotOpenAndSaysSo) {
  auto stranger = idvault::testing::generate_rsa_host_key(2048);
  const Bytes stranger_spki = spki_der_of(*stranger);
  const TokenServiceKey decryptor(laptop_slot.private_key.object());
  const TokenVaultKey on_desk = TokenVaultKey::generate(desk);
  Bytes altered = on_desk.seal_to(laptop_slot.public_key_spki_der);
  altered[100] ^= 0x01;
  auto slot_public = idvault::testing::load_public_der(laptop_slot.public_key_spki_der);
  const Bytes short_key = idvault::testing::oaep_encrypt(*slot_public, random_bytes(16));

  for (const Bytes& bad : {on_desk.seal_to(stranger_spki), altered, short_key, Bytes(7, 0x00)}) {
    try {
      (void)TokenVaultKey::open_slot(laptop_slot.private_key, bad);
      ADD_FAILURE() << "a foreign slot opened on the token";
    } catch (const SlotError& e) {
      EXPECT_NE(std::string(e.what()).find("does not open with this device's slot key"),
                std::string::npos);
    }
    EXPECT_THROW((void)MemoryVaultKey::open_slot(decryptor, bad), SlotError);
  }
}

TEST_F(VaultKeyTest, TokenVaultKeyIsASensitiveSessionObjectGoneWithIt) {
  CK_OBJECT_HANDLE handle = 0;
  {
    const TokenVaultKey key = TokenVaultKey::generate(desk);
    const p11::Object& object = key.object();
    handle = object.handle();
    EXPECT_TRUE(object.flag(CKA_SENSITIVE));
    EXPECT_TRUE(object.flag(CKA_EXTRACTABLE));
    EXPECT_FALSE(object.flag(CKA_TOKEN));
    EXPECT_EQ(object.ulong_attribute(CKA_VALUE_LEN), 32u);
    try {
      (void)object.attribute(CKA_VALUE);
      ADD_FAILURE() << "the vault key's value was readable";
    } catch (const p11::Pkcs11Error& e) {
      EXPECT_EQ(e.rv(), CKR_ATTRIBUTE_SENSITIVE) << e.what();
    }
    // Opened from a slot: the same.
    const TokenVaultKey opened = TokenVaultKey::open_slot(
        laptop_slot.private_key, key.seal_to(laptop_slot.public_key_spki_der));
    EXPECT_TRUE(opened.object().flag(CKA_SENSITIVE));
    EXPECT_FALSE(opened.object().flag(CKA_TOKEN));
    EXPECT_FALSE(opened.object().try_attribute(CKA_VALUE).has_value());
  }
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_ATTRIBUTE secret_keys[] = {{CKA_CLASS, &secret_class, sizeof secret_class}};
  EXPECT_TRUE(p11::find_objects(desk, secret_keys).empty());
  EXPECT_TRUE(p11::find_objects(laptop, secret_keys).empty());
  EXPECT_THROW((void)p11::Object(desk, handle).attribute(CKA_CLASS), p11::Pkcs11Error);
}

TEST_F(VaultKeyTest, SlotKeyPrivateHalfStaysOnTheToken) {
  const p11::Object& key = laptop_slot.private_key.object();
  EXPECT_TRUE(key.flag(CKA_TOKEN));
  EXPECT_TRUE(key.flag(CKA_SENSITIVE));
  EXPECT_FALSE(key.flag(CKA_EXTRACTABLE));
  EXPECT_TRUE(key.flag(CKA_UNWRAP));
  EXPECT_EQ(laptop_slot.private_key.modulus_bytes(), 256u);
  auto spki = idvault::testing::load_public_der(laptop_slot.public_key_spki_der);
  EXPECT_EQ(EVP_PKEY_get_bits(spki.get()), 2048);
}

TEST_F(VaultKeyTest, SealingRefusesWhatIsNotAnRsaSlotKey) {
  const Bytes ec_spki = SoftwareSigningKey::generate().public_key_spki_der();
  const TokenVaultKey on_desk = TokenVaultKey::generate(desk);
  const MemoryVaultKey in_memory = MemoryVaultKey::generate();
  for (const Bytes& bad : {ec_spki, Bytes(40, 0x30), Bytes{}}) {
    EXPECT_THROW((void)on_desk.seal_to(bad), FormatError);
    EXPECT_THROW((void)in_memory.seal_to(bad), FormatError);
  }
}

}  // namespace
}  // namespace idvault::vault
