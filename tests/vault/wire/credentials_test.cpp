#include "vault/wire/credentials.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "tests/vault/wire/sample_passport.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using testing::random_bytes;

FileCredentials file_credentials() {
  return FileCredentials{random_bytes(32), ValueSecret::generate()};
}

Credentials sample_credentials() {
  Credentials c;
  c.nonce = "nonce/with+slashes-ünï";
  SecureValueCredentials passport;
  passport.data = DataCredentials{random_bytes(32), ValueSecret::generate()};
  passport.front_side = file_credentials();
  passport.selfie = file_credentials();
  passport.translation.push_back(file_credentials());
  c.secure_data.emplace(ElementType::passport, std::move(passport));
  SecureValueCredentials bill;
  bill.files.push_back(file_credentials());
  bill.files.push_back(file_credentials());
  c.secure_data.emplace(ElementType::utility_bill, std::move(bill));
  return c;
}

bool same(const FileCredentials& a, const FileCredentials& b) {
  return a.file_hash == b.file_hash &&
         std::equal(a.secret.reveal().begin(), a.secret.reveal().end(), b.secret.reveal().begin());
}

void expect_same(const Credentials& a, const Credentials& b) {
  EXPECT_EQ(a.nonce, b.nonce);
  ASSERT_EQ(a.secure_data.size(), b.secure_data.size());
  const auto& pa = a.secure_data.at(ElementType::passport);
  const auto& pb = b.secure_data.at(ElementType::passport);
  ASSERT_TRUE(pb.data && pb.front_side && pb.selfie);
  EXPECT_EQ(pa.data->data_hash, pb.data->data_hash);
  EXPECT_TRUE(std::equal(pa.data->secret.reveal().begin(), pa.data->secret.reveal().end(),
                         pb.data->secret.reveal().begin()));
  EXPECT_TRUE(same(*pa.front_side, *pb.front_side));
  EXPECT_TRUE(same(*pa.selfie, *pb.selfie));
  EXPECT_FALSE(pb.reverse_side);
  ASSERT_EQ(pb.translation.size(), 1u);
  EXPECT_TRUE(same(pa.translation[0], pb.translation[0]));
  const auto& ba = a.secure_data.at(ElementType::utility_bill);
  const auto& bb = b.secure_data.at(ElementType::utility_bill);
  ASSERT_EQ(bb.files.size(), 2u);
  EXPECT_TRUE(same(ba.files[1], bb.files[1]));
  EXPECT_FALSE(bb.data);
}

std::string where_of(std::string_view text) {
  try {
    (void)parse_credentials(text);
  } catch (const FormatError& e) {
    return e.where();
  }
  return "accepted";
}

constexpr std::string_view kHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";    // 32 bytes
constexpr std::string_view kSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";  // 32 bytes

std::string data_entry(std::string_view hash = kHash, std::string_view secret = kSecret) {
  return R"({"data_hash":")" + std::string(hash) + R"(","secret":")" + std::string(secret) +
         R"("})";
}

TEST(Credentials, WritesTheCurrentShapeSecureDataFirstThenNonce) {
  const Credentials c = sample_credentials();
  const auto json = to_json(c);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json.begin().key(), "secure_data");
  EXPECT_EQ(json["nonce"], c.nonce);
  const auto& passport = json["secure_data"]["passport"];
  EXPECT_EQ(passport["data"]["data_hash"],
            base64_encode(c.secure_data.at(ElementType::passport).data->data_hash));
  EXPECT_EQ(passport["front_side"].begin().key(), "file_hash");
  EXPECT_FALSE(passport.contains("reverse_side"));
  EXPECT_EQ(json["secure_data"]["utility_bill"]["files"].size(), 2u);
}

TEST(Credentials, RoundTripsThroughJsonText) {
  const Credentials c = sample_credentials();
  const SecretBytes text = serialize_credentials(c);
  expect_same(c, parse_credentials(text.reveal_text()));
}

TEST(Credentials, AcceptsLegacyPayloadInPlaceOfNonce) {
  const auto c = parse_credentials(R"({"secure_data":{},"payload":"legacy-1.0"})");
  EXPECT_EQ(c.nonce, "legacy-1.0");
  EXPECT_EQ(parse_credentials(R"({"payload":"old","secure_data":{},"nonce":"new"})").nonce, "new");
}

TEST(Credentials, AcceptsSortedKeysEscapedSlashesAndRawUtf8) {
  // What Android's org.json produces: "\/" inside base64, nonce first, raw UTF-8.
  std::string hash(kHash);
  std::string escaped;
  for (const char ch : hash) escaped += ch == '/' ? std::string("\\/") : std::string(1, ch);
  const std::string text =
      R"({"nonce":"naïve\/nonce","secure_data":{"passport":{"data":{"secret":")" +
      std::string(kSecret) + R"(","data_hash":")" + escaped + R"("}}}})";
  const auto c = parse_credentials(text);
  EXPECT_EQ(c.nonce, "naïve/nonce");
  EXPECT_EQ(c.secure_data.at(ElementType::passport).data->data_hash, base64_decode(kHash, "t"));
}

TEST(Credentials, IgnoresUnknownTypesAndFieldsAndPlainTypes) {
  const std::string text = R"({"secure_data":{"future_type":{"x":1},"phone_number":{},)"
                           R"("address":{"data":)" +
                           data_entry() + R"(,"extra":true}},"nonce":"n","v":2})";
  const auto c = parse_credentials(text);
  ASSERT_EQ(c.secure_data.size(), 1u);
  EXPECT_TRUE(c.secure_data.contains(ElementType::address));
}

TEST(Credentials, NamesThePathOfAMissingOrWrongTypedField) {
  EXPECT_EQ(where_of("not json"), "credentials");
  EXPECT_EQ(where_of("[]"), "credentials");
  EXPECT_EQ(where_of(R"({"nonce":"n"})"), "credentials.secure_data");
  EXPECT_EQ(where_of(R"({"secure_data":[],"nonce":"n"})"), "credentials.secure_data");
  EXPECT_EQ(where_of(R"({"secure_data":{}})"), "credentials.nonce");
  EXPECT_EQ(where_of(R"({"secure_data":{},"nonce":5})"), "credentials.nonce");
  EXPECT_EQ(where_of(R"({"secure_data":{"passport":[]},"nonce":"n"})"),
            "credentials.secure_data.passport");
  EXPECT_EQ(where_of(R"({"secure_data":{"passport":{"data":{"data_hash":")" + std::string(kHash) +
                     R"("}}},"nonce":"n"})"),
            "credentials.secure_data.passport.data.secret");
  EXPECT_EQ(where_of(R"({"secure_data":{"passport":{"selfie":{"file_hash":7,"secret":")" +
                     std::string(kSecret) + R"("}}},"nonce":"n"})"),
            "credentials.secure_data.passport.selfie.file_hash");
  EXPECT_EQ(where_of(R"({"secure_data":{"utility_bill":{"files":{}}},"nonce":"n"})"),
            "credentials.secure_data.utility_bill.files");
  EXPECT_EQ(where_of(R"({"secure_data":{"utility_bill":{"files":[{"file_hash":")" +
                     std::string(kHash) + R"(","secret":")" + std::string(kSecret) +
                     R"("},{"file_hash":")" + std::string(kHash) + R"("}]}},"nonce":"n"})"),
            "credentials.secure_data.utility_bill.files[1].secret");
}

TEST(Credentials, RejectsBadBase64AndWrongSizes) {
  const auto wrap = [](const std::string& entry) {
    return R"({"secure_data":{"address":{"data":)" + entry + R"(}},"nonce":"n"})";
  };
  EXPECT_EQ(where_of(wrap(data_entry("not base64!"))),
            "credentials.secure_data.address.data.data_hash");
  EXPECT_EQ(where_of(wrap(data_entry("AAAA"))), "credentials.secure_data.address.data.data_hash");
  EXPECT_EQ(where_of(wrap(data_entry(kHash, "AAAA"))),
            "credentials.secure_data.address.data.secret");
  EXPECT_EQ(where_of(wrap(data_entry(kHash, "AAE="))),
            "credentials.secure_data.address.data.secret");
}

class CredentialsEncryption : public ::testing::Test {
 protected:
  SoftwareServiceKey key_ = SoftwareServiceKey::generate();
  Credentials credentials_ = sample_credentials();
  EncryptedCredentials encrypted_ = encrypt_credentials(credentials_, key_.public_key_pem());

  std::string failure(const EncryptedCredentials& encrypted, const ServiceKey& key) {
    try {
      (void)decrypt_credentials(encrypted, key);
    } catch (const DecryptError& e) {
      return e.what();
    }
    ADD_FAILURE() << "decrypted";
    return {};
  }

  static std::string flip(const std::string& base64, std::size_t at) {
    auto bytes = base64_decode(base64, "t");
    bytes.at(at) ^= 0x01;
    return base64_encode(bytes);
  }
};

TEST_F(CredentialsEncryption, RoundTripsThroughTheServiceKey) {
  expect_same(credentials_, decrypt_credentials(encrypted_, key_));
}

TEST_F(CredentialsEncryption, SecretIsRsaOaepSha1OfA32ByteTelegramSecret) {
  // Decrypt the secret by hand with OAEP SHA-1 / MGF1-SHA-1, as PHP/PTB/TDLib do.
  const SecretBytes pem = key_.private_key_pem();
  const auto bio = openssl::make_memory_bio(pem.reveal().data(), pem.size());
  const openssl::PKey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(pkey);
  const auto ctx = openssl::make_pkey_ctx(pkey.get());
  ASSERT_EQ(EVP_PKEY_decrypt_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha1()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha1()), 1);
  const auto wrapped = base64_decode(encrypted_.secret, "t");
  EXPECT_EQ(wrapped.size(), 256u);
  std::vector<std::uint8_t> out(256);
  std::size_t size = out.size();
  ASSERT_EQ(EVP_PKEY_decrypt(ctx.get(), out.data(), &size, wrapped.data(), wrapped.size()), 1);
  ASSERT_EQ(size, 32u);
  out.resize(size);
  EXPECT_TRUE(has_telegram_checksum(out));
}

TEST_F(CredentialsEncryption, EveryTamperingGivesTheSameError) {
  const std::string expected = "credentials: decryption failed";
  auto tampered = encrypted_;
  tampered.data = flip(encrypted_.data, 20);
  EXPECT_EQ(failure(tampered, key_), expected);
  tampered = encrypted_;
  tampered.hash = flip(encrypted_.hash, 0);
  EXPECT_EQ(failure(tampered, key_), expected);
  tampered = encrypted_;
  tampered.secret = flip(encrypted_.secret, 100);
  EXPECT_EQ(failure(tampered, key_), expected);
  tampered = encrypted_;
  tampered.data =
      encrypted_.data.substr(0, encrypted_.data.size() - 4);  // 3 bytes short: unaligned
  EXPECT_EQ(failure(tampered, key_), expected);
}

TEST_F(CredentialsEncryption, AnotherKeyGivesTheSameError) {
  const SoftwareServiceKey other = SoftwareServiceKey::generate();
  EXPECT_EQ(failure(encrypted_, other), "credentials: decryption failed");
}

TEST_F(CredentialsEncryption, MalformedBase64NamesTheField) {
  auto bad = encrypted_;
  bad.hash = "%%%%";
  try {
    (void)decrypt_credentials(bad, key_);
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), "credentials.hash");
  }
}

TEST_F(CredentialsEncryption, RejectsAPublicKeyThatIsNotRsaSpkiPem) {
  for (const std::string& pem :
       {std::string("garbage"), std::string(key_.private_key_pem().reveal_text()),
        std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")}) {
    try {
      (void)encrypt_credentials(credentials_, pem);
      ADD_FAILURE();
    } catch (const FormatError& e) {
      EXPECT_EQ(e.where(), "public_key");
    }
  }
  const auto ec = SoftwareSigningKey::generate().public_key_spki_der();
  const std::string body = base64_encode(ec);
  std::string ec_pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t at = 0; at < body.size(); at += 64) ec_pem += body.substr(at, 64) + "\n";
  ec_pem += "-----END PUBLIC KEY-----\n";
  EXPECT_THROW((void)encrypt_credentials(credentials_, ec_pem), FormatError);
}

}  // namespace
}  // namespace idvault::vault
