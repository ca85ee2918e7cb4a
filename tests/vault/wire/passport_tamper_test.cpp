// The relying party's decryptor against bad bundles: every tampering and every missing
// piece gives a clear error that names the part, and the cryptographic failures all say
// the same thing.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "tests/vault/wire/sample_passport.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"
#include "vault/wire/passport_decryptor.h"
#include "vault/wire/passport_encryptor.h"
#include "vault/wire/value_cipher.h"

namespace idvault::vault {
namespace {

std::string flip_base64(const std::string& text, std::size_t at) {
  auto bytes = base64_decode(text, "t");
  bytes.at(at) ^= 0x01;
  return base64_encode(bytes);
}

Credentials clone(const Credentials& credentials) {
  return parse_credentials(serialize_credentials(credentials).reveal_text());
}

class PassportTamper : public ::testing::Test {
 protected:
  PassportTamper() {
    std::vector<PlainElement> plain;
    plain.push_back(testing::personal_details());
    plain.push_back(testing::id_document(ElementType::passport, false, true, 0));
    plain.push_back(testing::address());
    plain.push_back(testing::proof_document(ElementType::utility_bill, 2, 0));
    plain.push_back(testing::plain(ElementType::email, "a@b.c"));
    bundle_ = encrypt_passport(plain, "the-nonce", key_.public_key_pem());
    passport_data_ = bundle_.passport_data;
    files_ = bundle_.files;
  }

  EncryptedPassportElement& element(ElementType type) {
    for (auto& e : passport_data_.data) {
      if (e.type == type) return e;
    }
    throw std::logic_error("no such element");
  }

  // Replaces the credentials with these, encrypted afresh to the service key.
  void use_credentials(const Credentials& credentials) {
    passport_data_.credentials = encrypt_credentials(credentials, key_.public_key_pem());
  }

  // Re-encrypts the address's data as these bytes, with valid credentials for them.
  void set_address_plaintext(std::string_view text) {
    ValueSecret secret = ValueSecret::generate();
    const auto value = encrypt_value(testing::bytes_of(text), secret);
    element(ElementType::address).data = base64_encode(value.ciphertext);
    Credentials credentials = clone(bundle_.credentials);
    credentials.secure_data.at(ElementType::address).data =
        DataCredentials{value.hash, std::move(secret)};
    use_credentials(credentials);
  }

  DecryptedPassport decrypt(const ServiceKey& key) {
    PassportDecryptor decryptor(key);
    return decryptor.decrypt(
        passport_data_,
        [this](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
          const auto it = files_.find(std::string(id));
          if (it == files_.end()) return std::nullopt;
          return std::span<const std::uint8_t>(it->second);
        },
        {.expected_nonce = "the-nonce", .allow_missing_files = false});
  }

  std::string decrypt_failure() { return decrypt_failure(key_); }
  std::string decrypt_failure(const ServiceKey& key) {
    try {
      (void)decrypt(key);
    } catch (const DecryptError& e) {
      return e.what();
    }
    ADD_FAILURE() << "decrypted";
    return {};
  }

  std::string format_failure() {
    try {
      (void)decrypt(key_);
    } catch (const FormatError& e) {
      return e.where();
    }
    ADD_FAILURE() << "decrypted";
    return {};
  }

  std::vector<std::uint8_t>& file_of(const PassportFile& file) { return files_.at(file.file_id); }

  SoftwareServiceKey key_ = SoftwareServiceKey::generate();
  EncryptedBundle bundle_;
  PassportData passport_data_;
  std::map<std::string, std::vector<std::uint8_t>> files_;
};

TEST_F(PassportTamper, TheUntouchedBundleDecrypts) {
  const auto result = decrypt(key_);
  EXPECT_EQ(result.elements.size(), 5u);
}

TEST_F(PassportTamper, WrongNonce) {
  PassportDecryptor decryptor(key_);
  try {
    (void)decryptor.decrypt(
        passport_data_,
        [this](std::string_view id) {
          return std::optional<std::span<const std::uint8_t>>(files_.at(std::string(id)));
        },
        {.expected_nonce = "another-nonce", .allow_missing_files = false});
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), "credentials.nonce");
  }
}

TEST_F(PassportTamper, FlippedBitInElementData) {
  auto& data = *element(ElementType::passport).data;
  data = flip_base64(data, 3);
  EXPECT_EQ(decrypt_failure(), "passport.data: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInAFile) {
  file_of(*element(ElementType::passport).front_side)[100] ^= 0x10;
  EXPECT_EQ(decrypt_failure(), "passport.front_side: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInTheSecondFileOfAList) {
  file_of(element(ElementType::utility_bill).files[1]).back() ^= 0x01;
  EXPECT_EQ(decrypt_failure(), "utility_bill.files[1]: decryption failed");
}

TEST_F(PassportTamper, TruncatedFile) {
  auto& file = file_of(*element(ElementType::passport).selfie);
  file.resize(file.size() - 16);
  EXPECT_EQ(decrypt_failure(), "passport.selfie: decryption failed");
}

TEST_F(PassportTamper, OddLengthFile) {
  file_of(*element(ElementType::passport).selfie).pop_back();
  EXPECT_EQ(decrypt_failure(), "passport.selfie: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInCredentialsData) {
  passport_data_.credentials.data = flip_base64(passport_data_.credentials.data, 40);
  EXPECT_EQ(decrypt_failure(), "credentials: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInCredentialsHash) {
  passport_data_.credentials.hash = flip_base64(passport_data_.credentials.hash, 31);
  EXPECT_EQ(decrypt_failure(), "credentials: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInCredentialsSecret) {
  passport_data_.credentials.secret = flip_base64(passport_data_.credentials.secret, 0);
  EXPECT_EQ(decrypt_failure(), "credentials: decryption failed");
}

TEST_F(PassportTamper, WrongServiceKey) {
  const SoftwareServiceKey other = SoftwareServiceKey::generate();
  EXPECT_EQ(decrypt_failure(other), "credentials: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInADataHashInsideTheCredentials) {
  Credentials credentials = clone(bundle_.credentials);
  credentials.secure_data.at(ElementType::passport).data->data_hash[0] ^= 0x01;
  use_credentials(credentials);
  EXPECT_EQ(decrypt_failure(), "passport.data: decryption failed");
}

TEST_F(PassportTamper, FlippedBitInAFileSecretInsideTheCredentials) {
  Credentials credentials = clone(bundle_.credentials);
  auto& selfie = *credentials.secure_data.at(ElementType::passport).selfie;
  std::vector<std::uint8_t> secret(selfie.secret.reveal().begin(), selfie.secret.reveal().end());
  secret[7] ^= 0x01;
  selfie.secret = ValueSecret::from_bytes(SecretBytes(secret), "t");
  use_credentials(credentials);
  EXPECT_EQ(decrypt_failure(), "passport.selfie: decryption failed");
}

TEST_F(PassportTamper, MissingCredentialsForAnElement) {
  Credentials credentials = clone(bundle_.credentials);
  credentials.secure_data.erase(ElementType::address);
  use_credentials(credentials);
  EXPECT_EQ(format_failure(), "credentials.secure_data.address");
}

TEST_F(PassportTamper, MissingCredentialsForElementData) {
  Credentials credentials = clone(bundle_.credentials);
  credentials.secure_data.at(ElementType::passport).data.reset();
  use_credentials(credentials);
  EXPECT_EQ(format_failure(), "credentials.secure_data.passport.data");
}

TEST_F(PassportTamper, MissingCredentialsForAFile) {
  Credentials credentials = clone(bundle_.credentials);
  credentials.secure_data.at(ElementType::passport).selfie.reset();
  use_credentials(credentials);
  EXPECT_EQ(format_failure(), "credentials.secure_data.passport.selfie");
}

TEST_F(PassportTamper, MissingCredentialsForTheSecondFileOfAList) {
  Credentials credentials = clone(bundle_.credentials);
  credentials.secure_data.at(ElementType::utility_bill).files.pop_back();
  use_credentials(credentials);
  EXPECT_EQ(format_failure(), "credentials.secure_data.utility_bill.files[1]");
}

TEST_F(PassportTamper, AFileNotSupplied) {
  files_.erase(element(ElementType::utility_bill).files[0].file_id);
  EXPECT_EQ(format_failure(), "utility_bill.files[0]");
}

TEST_F(PassportTamper, DecryptedDataThatIsNotJson) {
  set_address_plaintext("{\"city\": Berlin}");
  EXPECT_EQ(format_failure(), "address.data");
}

TEST_F(PassportTamper, DecryptedDataThatIsNotUtf8) {
  set_address_plaintext("{\"city\":\"\xff\xfe\"}");
  EXPECT_EQ(format_failure(), "address.data");
}

TEST_F(PassportTamper, DecryptedDataThatIsNotAnObject) {
  set_address_plaintext("[\"Berlin\"]");
  EXPECT_EQ(format_failure(), "address.data");
}

TEST_F(PassportTamper, DecryptedDataThatIsEmpty) {
  set_address_plaintext("");
  EXPECT_EQ(format_failure(), "address.data");
}

TEST_F(PassportTamper, MalformedBase64InElementData) {
  element(ElementType::passport).data = "AAA*";
  EXPECT_EQ(format_failure(), "passport.data");
}

TEST_F(PassportTamper, MalformedBase64InCredentials) {
  passport_data_.credentials.secret = "AAAAA";
  EXPECT_EQ(format_failure(), "credentials.secret");
}

TEST_F(PassportTamper, MalformedPassportDataJson) {
  EXPECT_THROW((void)parse_passport_data(R"({"data":[{"type":"passport"}]})"), FormatError);
  EXPECT_THROW((void)parse_passport_data("\x01"), FormatError);
}

}  // namespace
}  // namespace idvault::vault
