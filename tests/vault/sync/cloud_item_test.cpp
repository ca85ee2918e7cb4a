// Cloud items (vault/sync/cloud_item.h): what the server keeps opens only for its own
// account and item id, under the account's vault key, unaltered; ids parse both ways.
#include "vault/sync/cloud_item.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/base64.h"
#include "common/format_error.h"
#include "vault/keys/software_keys.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kAccount = "acct-3f2a";
nlohmann::json plaintext() {
  return {{"type", "passport"}, {"data", "c2VjcmV0"}, {"n", 7}};
}

class CloudItemTest : public ::testing::Test {
 protected:
  SoftwareMasterKey vk_ = SoftwareMasterKey::generate();
  std::string id_ = element_item_id(ElementType::passport);
  Bytes body_ = seal_item(vk_, kAccount, id_, plaintext());
};

// Expects CloudItemError naming id from open_item.
void expect_refused(const MasterKey& vk, std::string_view account, const std::string& id,
                    ByteView body) {
  try {
    (void)open_item(vk, account, id, body);
    ADD_FAILURE() << "opened";
  } catch (const CloudItemError& e) {
    EXPECT_EQ(e.item_id(), id);
    EXPECT_NE(std::string(e.what()).find(id), std::string::npos) << e.what();
  }
}

TEST_F(CloudItemTest, RoundTripsAndHoldsOnlyCiphertext) {
  EXPECT_EQ(open_item(vk_, kAccount, id_, body_), plaintext());
  const std::string text(body_.begin(), body_.end());
  EXPECT_EQ(text.find("passport"), std::string::npos);
  EXPECT_EQ(text.find("c2VjcmV0"), std::string::npos);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(canonical_bytes(json), text);  // canonical bytes
  EXPECT_EQ(json.size(), 4U);
  EXPECT_EQ(json.at("v"), 1);
  // A fresh secret and IV each time.
  EXPECT_NE(seal_item(vk_, kAccount, id_, plaintext()), body_);
}

TEST_F(CloudItemTest, AnotherAccountsItemIsRefused) {
  expect_refused(vk_, "acct-other", id_, body_);
}

TEST_F(CloudItemTest, AnItemUnderAnotherIdIsRefused) {
  expect_refused(vk_, kAccount, element_item_id(ElementType::identity_card), body_);
  expect_refused(vk_, kAccount, attestation_item_id("{}"), body_);
}

TEST_F(CloudItemTest, AnotherVaultKeyIsRefused) {
  const SoftwareMasterKey other = SoftwareMasterKey::generate();
  expect_refused(other, kAccount, id_, body_);
}

TEST_F(CloudItemTest, EveryAlteredByteIsRefused) {
  for (std::size_t i = 0; i < body_.size(); ++i) {
    Bytes altered = body_;
    altered[i] ^= 0x01;
    SCOPED_TRACE(i);
    expect_refused(vk_, kAccount, id_, altered);
  }
  expect_refused(vk_, kAccount, id_, ByteView(body_).first(body_.size() - 1));
  expect_refused(vk_, kAccount, id_, Bytes{});
}

TEST_F(CloudItemTest, SwappedPartsAndExtraMembersAreRefused) {
  const auto json = nlohmann::json::parse(body_);
  const Bytes other_body = seal_item(vk_, kAccount, id_, {{"other", true}});
  const auto other = nlohmann::json::parse(other_body);
  for (const char* member : {"wrapped_secret", "iv", "ciphertext"}) {
    auto mixed = json;
    mixed[member] = other[member];
    const std::string text = canonical_bytes(mixed);
    SCOPED_TRACE(member);
    expect_refused(vk_, kAccount, id_, bytes_of(text));
  }
  auto extra = json;
  extra["note"] = "x";
  expect_refused(vk_, kAccount, id_, bytes_of(canonical_bytes(extra)));
  auto version = json;
  version["v"] = 2;
  expect_refused(vk_, kAccount, id_, bytes_of(canonical_bytes(version)));
}

TEST_F(CloudItemTest, AmbiguousPlacesAreNotSealed) {
  EXPECT_THROW((void)seal_item(vk_, "", id_, plaintext()), FormatError);
  EXPECT_THROW((void)seal_item(vk_, std::string_view("a\0b", 3), id_, plaintext()), FormatError);
  EXPECT_THROW((void)seal_item(vk_, kAccount, "element.nope", plaintext()), FormatError);
  EXPECT_THROW((void)open_item(vk_, kAccount, "passport", body_), FormatError);
}

TEST(CloudItemId, MadeAndParsed) {
  EXPECT_EQ(element_item_id(ElementType::driver_license), "element.driver_license");
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  const std::string receipt = receipt_item_id(hex);
  EXPECT_EQ(receipt, "receipt." + hex);
  EXPECT_THROW((void)receipt_item_id(hex.substr(1)), std::invalid_argument);
  std::string upper_hex = hex;
  upper_hex[0] = 'A';
  EXPECT_THROW((void)receipt_item_id(upper_hex), std::invalid_argument);
  const std::string attestation = attestation_item_id(R"({"a":1})");
  EXPECT_EQ(attestation, "attestation." + sha256_hex(bytes_of(R"({"a":1})")));
  const std::string error = error_item_id("{}");
  EXPECT_EQ(error, "error." + sha256_hex(bytes_of("{}")));

  for (const auto& id : {element_item_id(ElementType::email), receipt, attestation, error}) {
    EXPECT_EQ(to_string(parse_item_id(id)), id);
  }
  const ItemId parsed = parse_item_id("element.utility_bill");
  EXPECT_EQ(parsed.kind, ItemKind::element);
  EXPECT_EQ(parsed.element, ElementType::utility_bill);
  EXPECT_EQ(parse_item_id(receipt).kind, ItemKind::receipt);
  EXPECT_EQ(parse_item_id(receipt).hash_hex, receipt.substr(8));

  std::string upper = error;
  upper.back() = 'A';
  for (const std::string& bad :
       {std::string(""), std::string("element."), std::string("element.Passport"),
        std::string("receipt.abc"), upper, error + "0", std::string("note.") + error.substr(6)}) {
    SCOPED_TRACE(bad);
    try {
      (void)parse_item_id(bad);
      ADD_FAILURE() << "parsed";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.where(), "item_id");
    }
  }
}

}  // namespace
}  // namespace idvault::vault
