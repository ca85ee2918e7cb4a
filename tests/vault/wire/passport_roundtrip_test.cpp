// The holder's encryptor and the relying party's decryptor together: everything that goes
// in comes out, for every element type and file slot.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "common/base64.h"
#include "tests/vault/wire/sample_passport.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"
#include "vault/wire/passport_decryptor.h"
#include "vault/wire/passport_encryptor.h"

namespace idvault::vault {
namespace {

using testing::every_type;

FileLookup lookup_in(const EncryptedBundle& bundle) {
  return [&bundle](std::string_view file_id) -> std::optional<std::span<const std::uint8_t>> {
    const auto it = bundle.files.find(std::string(file_id));
    if (it == bundle.files.end()) return std::nullopt;
    return std::span<const std::uint8_t>(it->second);
  };
}

bool equal(const std::optional<std::span<const std::uint8_t>>& got, const SecretBytes& want) {
  return got && want.equals(*got);
}

void expect_files(const std::vector<DecryptedFile>& got, const std::vector<SecretBytes>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(equal(got[i].plaintext, want[i])) << what << i;
  }
}

void expect_file(const std::optional<DecryptedFile>& got, const std::optional<SecretBytes>& want,
                 const std::string& what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what;
  if (got) {
    EXPECT_TRUE(equal(got->plaintext, *want)) << what;
  }
}

void expect_decrypts_to(const DecryptedPassport& result, const std::vector<PlainElement>& plain,
                        const EncryptedBundle& bundle) {
  ASSERT_EQ(result.elements.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const auto& got = result.elements[i];
    const auto& want = plain[i];
    const std::string name(to_string(want.type));
    ASSERT_EQ(got.type, want.type);
    EXPECT_EQ(got.hash, bundle.passport_data.data[i].hash) << name;
    if (want.type == ElementType::phone_number) {
      EXPECT_EQ(got.phone_number, want.value);
    }
    if (want.type == ElementType::email) {
      EXPECT_EQ(got.email, want.value);
    }
    EXPECT_EQ(got.data, want.data) << name;
    if (!want.data.is_null()) {
      EXPECT_EQ(got.data_text, want.data.dump()) << name;
    }
    expect_files(got.files, want.files, name + ".files");
    expect_file(got.front_side, want.front_side, name + ".front_side");
    expect_file(got.reverse_side, want.reverse_side, name + ".reverse_side");
    expect_file(got.selfie, want.selfie, name + ".selfie");
    expect_files(got.translation, want.translation, name + ".translation");
  }
}

class PassportRoundTrip : public ::testing::Test {
 protected:
  SoftwareServiceKey key_ = SoftwareServiceKey::generate();
};

TEST_F(PassportRoundTrip, EveryTypeAndSlotComesBack) {
  const auto plain = every_type();
  const auto bundle = encrypt_passport(plain, "nonce-1", key_.public_key_pem());
  PassportDecryptor decryptor(key_);
  const auto result =
      decryptor.decrypt(bundle.passport_data, lookup_in(bundle),
                        {.expected_nonce = "nonce-1", .allow_missing_files = false});
  EXPECT_EQ(result.nonce, "nonce-1");
  expect_decrypts_to(result, plain, bundle);
  ASSERT_NE(result.find(ElementType::utility_bill), nullptr);
  EXPECT_EQ(result.find(ElementType::utility_bill)->files[1].file_hash,
            bundle.credentials.secure_data.at(ElementType::utility_bill).files[1].file_hash);
}

TEST_F(PassportRoundTrip, ItsBotApiJsonRoundTripsToo) {
  const auto plain = every_type();
  const auto bundle = encrypt_passport(plain, "n", key_.public_key_pem());
  const PassportData reread = parse_passport_data(to_json(bundle.passport_data).dump());
  PassportDecryptor decryptor(key_);
  expect_decrypts_to(decryptor.decrypt(reread, lookup_in(bundle)), plain, bundle);
}

TEST_F(PassportRoundTrip, OneDecryptorServesManyBundlesOfDifferentSizes) {
  PassportDecryptor decryptor(key_);
  for (const std::size_t scan_size : {100'000u, 10u, 3'000'000u, 5'000u}) {
    std::vector<PlainElement> plain;
    plain.push_back(testing::proof_document(ElementType::utility_bill, 2, 0));
    plain.back().files[1] = testing::scan(scan_size);
    plain.push_back(testing::personal_details());
    const auto bundle =
        encrypt_passport(plain, "n" + std::to_string(scan_size), key_.public_key_pem());
    const auto result = decryptor.decrypt(bundle.passport_data, lookup_in(bundle));
    expect_decrypts_to(result, plain, bundle);
  }
}

TEST_F(PassportRoundTrip, EncryptorMakesTelegramLikeValues) {
  const auto plain = every_type();
  const auto bundle = encrypt_passport(plain, "n", key_.public_key_pem());
  std::set<std::string> ids;
  for (const auto& element : bundle.passport_data.data) {
    EXPECT_EQ(base64_decode(element.hash.value(), "hash").size(), 32u);
    const auto check = [&](const PassportFile& file) {
      EXPECT_TRUE(ids.insert(file.file_id).second) << "duplicate file_id";
      EXPECT_EQ(file.file_size, static_cast<std::int64_t>(bundle.files.at(file.file_id).size()));
      EXPECT_TRUE(file.file_unique_id.has_value());
      EXPECT_GT(file.file_date, 1'500'000'000);
    };
    for (const auto& file : element.files) check(file);
    for (const auto& file : element.translation) check(file);
    for (const auto* file : {&element.front_side, &element.reverse_side, &element.selfie}) {
      if (*file) check(**file);
    }
  }
  EXPECT_EQ(ids.size(), bundle.files.size());
  for (const auto& [type, value] : bundle.credentials.secure_data) {
    if (value.data) {
      EXPECT_TRUE(value.data->secret.has_telegram_checksum());
    }
    for (const auto& file : value.files) {
      EXPECT_TRUE(file.secret.has_telegram_checksum());
    }
  }
  EXPECT_FALSE(bundle.credentials.secure_data.contains(ElementType::phone_number));
}

TEST_F(PassportRoundTrip, MissingFilesComeBackMarkedWhenAllowed) {
  const auto plain = every_type();
  const auto bundle = encrypt_passport(plain, "n", key_.public_key_pem());
  const std::string selfie_id = bundle.passport_data.data[1].selfie->file_id;
  const FileLookup without_selfie =
      [&](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
    if (id == selfie_id) return std::nullopt;
    return std::span<const std::uint8_t>(bundle.files.at(std::string(id)));
  };
  PassportDecryptor decryptor(key_);
  const auto result =
      decryptor.decrypt(bundle.passport_data, without_selfie,
                        {.expected_nonce = std::nullopt, .allow_missing_files = true});
  const auto* passport = result.find(ElementType::passport);
  ASSERT_NE(passport, nullptr);
  EXPECT_TRUE(passport->selfie->missing());
  EXPECT_EQ(passport->selfie->file_id, selfie_id);
  EXPECT_FALSE(passport->front_side->missing());
  try {
    (void)decryptor.decrypt(bundle.passport_data, without_selfie);
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), "passport.selfie");
  }
}

std::string encrypt_error(std::vector<PlainElement> plain, const std::string& public_key) {
  try {
    (void)encrypt_passport(plain, "n", public_key);
  } catch (const FormatError& e) {
    return e.where();
  }
  return "accepted";
}

TEST_F(PassportRoundTrip, EncryptorRejectsElementsTheirTypeForbids) {
  const std::string pem = key_.public_key_pem();
  auto one = [](PlainElement e) {
    std::vector<PlainElement> v;
    v.push_back(std::move(e));
    return v;
  };
  auto no_front = testing::id_document(ElementType::passport, false, false, 0);
  no_front.front_side.reset();
  EXPECT_EQ(encrypt_error(one(std::move(no_front)), pem), "passport.front_side");
  auto reverse = testing::id_document(ElementType::passport, false, false, 0);
  reverse.reverse_side = testing::scan(5);
  EXPECT_EQ(encrypt_error(one(std::move(reverse)), pem), "passport.reverse_side");
  auto selfie = testing::address();
  selfie.selfie = testing::scan(5);
  EXPECT_EQ(encrypt_error(one(std::move(selfie)), pem), "address.selfie");
  EXPECT_EQ(encrypt_error(one(testing::proof_document(ElementType::bank_statement, 0, 1)), pem),
            "bank_statement.files");
  auto array_data = testing::address();
  array_data.data = nlohmann::json::array();
  EXPECT_EQ(encrypt_error(one(std::move(array_data)), pem), "address.data");
  auto bad_utf8 = testing::address();
  bad_utf8.data["city"] = std::string("\xff\xfe");
  EXPECT_EQ(encrypt_error(one(std::move(bad_utf8)), pem), "address.data");
  EXPECT_EQ(encrypt_error(one(testing::plain(ElementType::email, "")), pem), "email");
  std::vector<PlainElement> twice;
  twice.push_back(testing::address());
  twice.push_back(testing::address());
  EXPECT_EQ(encrypt_error(std::move(twice), pem), "address");
  EXPECT_EQ(encrypt_error(one(testing::address()), "not a key"), "public_key");
}

}  // namespace
}  // namespace idvault::vault

namespace idvault::vault {
namespace {

// Files encrypted on several threads and handed to a sink as they are ready (what the
// holder's store does with them) decrypt to the same elements as one-at-a-time.
TEST_F(PassportRoundTrip, FilesEncryptedInParallelIntoASinkComeBack) {
  const auto plain = every_type();
  std::mutex mutex;
  std::map<std::uint64_t, std::vector<std::uint8_t>> sunk;
  FileEncryption how;
  how.threads = 3;
  how.sink = [&](PageAlignedBytes&& ciphertext) {
    std::lock_guard lock(mutex);
    const std::uint64_t key = 1000 + sunk.size();
    sunk.emplace(key, std::vector<std::uint8_t>(ciphertext.begin(), ciphertext.end()));
    return key;
  };
  EncryptedElements encrypted = encrypt_elements(plain, how);
  EXPECT_TRUE(encrypted.files.empty());  // every file went to the sink
  ASSERT_FALSE(encrypted.sunk_files.empty());
  EXPECT_EQ(encrypted.sunk_files.size(), sunk.size());
  EncryptedBundle bundle;
  bundle.passport_data.data = encrypted.elements;
  bundle.credentials = std::move(encrypted.credentials);
  bundle.credentials.nonce = "nonce-p";
  bundle.passport_data.credentials = encrypt_credentials(bundle.credentials, key_.public_key_pem());
  for (const auto& [file_id, key] : encrypted.sunk_files) bundle.files[file_id] = sunk.at(key);
  for (const auto& element : bundle.passport_data.data) {
    for (const auto& file : element.files)
      EXPECT_EQ(static_cast<std::size_t>(file.file_size), bundle.files.at(file.file_id).size());
  }
  PassportDecryptor decryptor(key_);
  expect_decrypts_to(
      decryptor.decrypt(bundle.passport_data, lookup_in(bundle), {.expected_nonce = "nonce-p"}),
      plain, bundle);
}

TEST_F(PassportRoundTrip, AFailingSinkFailsTheEncryption) {
  const auto plain = every_type();
  std::atomic<int> calls{0};
  FileEncryption how;
  how.threads = 2;
  how.sink = [&](PageAlignedBytes&&) -> std::uint64_t {
    if (++calls == 3) throw std::runtime_error("disk full");
    return 0;
  };
  EXPECT_THROW((void)encrypt_elements(plain, how), std::runtime_error);
  EXPECT_GE(calls.load(), 3);
}

}  // namespace
}  // namespace idvault::vault
