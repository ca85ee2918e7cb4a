// Element items (vault/sync/element_item.h): a stored element survives the trip through
// an item's plaintext and a sealed body, without its recovery seals; reading is strict.
#include "vault/sync/element_item.h"

#include <gtest/gtest.h>

#include <string>

#include "common/format_error.h"
#include "vault/keys/software_keys.h"
#include "vault/signed/signed_statement.h"
#include "vault/sync/cloud_item.h"

namespace idvault::vault {
namespace {

Bytes bytes(std::size_t size, std::uint8_t fill) {
  return Bytes(size, fill);
}

StoredFile file(const std::string& slot, int position, std::uint8_t fill) {
  StoredFile f;
  f.file_id = "file-" + slot + "-" + std::to_string(position);
  f.slot = slot;
  f.position = position;
  f.ciphertext = bytes(48 + fill, fill);
  f.file_hash = bytes(32, fill + 1);
  f.wrapped_secret = bytes(40, fill + 2);
  f.file_date = 1'700'000'000 + fill;
  f.recovery_sealed_secret = bytes(256, 9);
  f.stored_name = "pack-1";
  f.stored_offset = 4096;
  f.ciphertext_size = f.ciphertext.size();
  return f;
}

StoredElement passport() {
  StoredElement e;
  e.type = ElementType::passport;
  e.data = bytes(96, 0x11);
  e.data_hash = bytes(32, 0x22);
  e.wrapped_data_secret = bytes(40, 0x33);
  e.recovery_sealed_data_secret = bytes(256, 0x44);
  e.element_hash = bytes(32, 0x55);
  e.updated_at = 1'765'000'000;
  e.files = {file("front_side", 0, 1), file("selfie", 0, 2), file("translation", 0, 3),
             file("translation", 1, 4)};
  return e;
}

void expect_same(const StoredElement& a, const ElementItem& item) {
  const StoredElement& b = item.element;
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.data_hash, b.data_hash);
  EXPECT_EQ(a.wrapped_data_secret, b.wrapped_data_secret);
  EXPECT_TRUE(b.recovery_sealed_data_secret.empty());
  EXPECT_EQ(a.plain, b.plain);
  EXPECT_EQ(a.element_hash, b.element_hash);
  EXPECT_EQ(a.updated_at, b.updated_at);
  ASSERT_EQ(a.files.size(), b.files.size());
  ASSERT_EQ(item.file_sha256.size(), b.files.size());
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    EXPECT_EQ(a.files[i].file_id, b.files[i].file_id);
    EXPECT_EQ(a.files[i].slot, b.files[i].slot);
    EXPECT_EQ(a.files[i].position, b.files[i].position);
    EXPECT_EQ(a.files[i].file_hash, b.files[i].file_hash);
    EXPECT_EQ(a.files[i].wrapped_secret, b.files[i].wrapped_secret);
    EXPECT_EQ(a.files[i].file_date, b.files[i].file_date);
    EXPECT_EQ(a.files[i].ciphertext.size(), b.files[i].ciphertext_size);
    EXPECT_TRUE(b.files[i].ciphertext.empty());
    EXPECT_TRUE(b.files[i].recovery_sealed_secret.empty());
    EXPECT_TRUE(b.files[i].stored_name.empty());
    EXPECT_EQ(item.file_sha256[i], sha256_hex(a.files[i].ciphertext));
  }
}

TEST(ElementItem, RoundTripsThroughASealedItem) {
  const StoredElement stored = passport();
  const nlohmann::json json = element_item_json(element_item_of(stored));
  EXPECT_FALSE(json.contains("recovery_sealed_data_secret"));
  expect_same(stored, parse_element_item(json));

  const SoftwareMasterKey vk = SoftwareMasterKey::generate();
  const std::string id = element_item_id(stored.type);
  const Bytes body = seal_item(vk, "acct", id, json);
  expect_same(stored, parse_element_item(open_item(vk, "acct", id, body)));
}

TEST(ElementItem, PlainElementWithoutDataRoundTrips) {
  StoredElement phone;
  phone.type = ElementType::phone_number;
  phone.plain = "15551234567";
  phone.element_hash = bytes(32, 7);
  phone.updated_at = 5;
  const nlohmann::json json = element_item_json(element_item_of(phone));
  EXPECT_TRUE(json.at("data").is_null());
  expect_same(phone, parse_element_item(json));
}

TEST(ElementItem, AFileReadWithoutItsBytesIsRefused) {
  StoredElement stored = passport();
  stored.files[1].ciphertext.clear();
  EXPECT_THROW((void)element_item_of(stored), std::invalid_argument);
}

// parse_element_item(json) must throw FormatError whose where() is `where`.
void expect_format_error(const nlohmann::json& json, const std::string& where) {
  try {
    (void)parse_element_item(json);
    ADD_FAILURE() << "parsed, expected an error at " << where;
  } catch (const FormatError& e) {
    EXPECT_EQ(e.where(), where) << e.what();
  }
}

TEST(ElementItem, ReadingIsStrict) {
  const nlohmann::json good = element_item_json(element_item_of(passport()));
  for (const auto& [member, value] : good.items()) {
    auto missing = good;
    missing.erase(member);
    expect_format_error(missing, "element_item." + member);
  }
  auto unknown = good;
  unknown["colour"] = "red";
  expect_format_error(unknown, "element_item.colour");

  auto wrong = good;
  wrong["updated_at"] = "yesterday";
  expect_format_error(wrong, "element_item.updated_at");
  wrong = good;
  wrong["type"] = "diploma";
  expect_format_error(wrong, "element_item.type");
  wrong = good;
  wrong["data"] = 12;
  expect_format_error(wrong, "element_item.data");
  wrong = good;
  wrong["data_hash"] = "not base64!";
  expect_format_error(wrong, "element_item.data_hash");
  wrong = good;
  wrong["files"] = nlohmann::json::object();
  expect_format_error(wrong, "element_item.files");

  wrong = good;
  wrong["files"][1]["sha256"] = "ABCD";
  expect_format_error(wrong, "element_item.files[1].sha256");
  wrong = good;
  wrong["files"][2]["slot"] = "back";
  expect_format_error(wrong, "element_item.files[2].slot");
  wrong = good;
  wrong["files"][0]["size"] = -1;
  expect_format_error(wrong, "element_item.files[0].size");
  wrong = good;
  wrong["files"][0].erase("file_id");
  expect_format_error(wrong, "element_item.files[0].file_id");
  wrong = good;
  wrong["files"][3]["recovery_sealed_secret"] = "AAAA";
  expect_format_error(wrong, "element_item.files[3].recovery_sealed_secret");
}

}  // namespace
}  // namespace idvault::vault
