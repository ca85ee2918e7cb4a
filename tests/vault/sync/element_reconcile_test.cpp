// Reconciling stored elements (vault/sync/element_reconcile.h): data encrypted under
// secrets wrapped by one VK is decrypted on every side, merged field by field, and
// encrypted again only when the merged data is neither side's; files are taken from the
// side that has them, never re-encrypted.
#include "vault/sync/element_reconcile.h"

#include <gtest/gtest.h>

#include <string>

#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"
#include "vault/wire/value_cipher.h"
#include "vault/wire/value_secret.h"

namespace idvault::vault {
namespace {

class ElementReconcileTest : public ::testing::Test {
 protected:
  SoftwareMasterKey vk_ = SoftwareMasterKey::generate();

  StoredElement element(const nlohmann::json& data, std::vector<StoredFile> files = {}) {
    StoredElement out;
    out.type = ElementType::personal_details;
    const ValueSecret secret = ValueSecret::generate();
    const std::string text = data.dump();
    EncryptedValue value = encrypt_value(
        std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), secret);
    out.data = value.ciphertext;
    out.data_hash = value.hash;
    out.wrapped_data_secret = vk_.wrap(SecretBytes(secret.reveal()));
    out.element_hash = Bytes(32, static_cast<std::uint8_t>(text.size()));
    out.files = std::move(files);
    return out;
  }

  nlohmann::json data_of(const StoredElement& stored) {
    const ValueSecret secret =
        ValueSecret::from_bytes(vk_.unwrap(stored.wrapped_data_secret), "test");
    ValueDecryptor decryptor;
    return nlohmann::json::parse(
        decryptor.decrypt(*stored.data, stored.data_hash, secret).reveal_text());
  }
};

StoredFile file(std::uint8_t fill) {
  StoredFile f;
  f.file_id = "f" + std::to_string(fill);
  f.slot = "translation";
  f.ciphertext = Bytes(64, fill);
  f.file_hash = Bytes(32, fill);
  f.wrapped_secret = Bytes(40, fill);
  f.ciphertext_size = 64;
  return f;
}

TEST_F(ElementReconcileTest, FieldsChangedOnOneSideEachAreMergedAndTheDataEncryptedAgain) {
  const StoredElement parent = element({{"first_name", "Ada"}, {"last_name", "Lovelace"}});
  const StoredElement local = element({{"first_name", "Augusta"}, {"last_name", "Lovelace"}});
  const StoredElement remote = element({{"first_name", "Ada"}, {"last_name", "King"}});
  const Reconciled merged = reconcile_element(vk_, {parent, {}}, {local, {}}, {remote, {}});
  ASSERT_TRUE(merged.element);
  EXPECT_TRUE(merged.conflicts.empty());
  EXPECT_EQ(data_of(*merged.element),
            (nlohmann::json{{"first_name", "Augusta"}, {"last_name", "King"}}));
  // Neither side's ciphertext: a fresh secret, and a fresh element hash.
  EXPECT_NE(merged.element->data, local.data);
  EXPECT_NE(merged.element->data, remote.data);
  EXPECT_NE(merged.element->element_hash, local.element_hash);
  EXPECT_NE(merged.element->element_hash, remote.element_hash);
}

TEST_F(ElementReconcileTest, AClashKeepsTheLocalValueAndRecordsBoth) {
  const StoredElement parent = element({{"first_name", "Ada"}});
  const StoredElement local = element({{"first_name", "Augusta"}});
  const StoredElement remote = element({{"first_name", "Adele"}});
  const Reconciled merged = reconcile_element(vk_, {parent, {}}, {local, {}}, {remote, {}});
  ASSERT_TRUE(merged.element);
  ASSERT_EQ(merged.conflicts.size(), 1U);
  EXPECT_EQ(merged.conflicts[0].field, "data.first_name");
  EXPECT_EQ(merged.conflicts[0].local, "Augusta");
  EXPECT_EQ(merged.conflicts[0].remote, "Adele");
  // The data is local's, so local's ciphertext and element hash are kept as they are.
  EXPECT_EQ(merged.element->data, local.data);
  EXPECT_EQ(merged.element->element_hash, local.element_hash);

  // Settling it for the other device's value writes that value.
  std::size_t settled = 0;
  const Reconciled resolved = resolve_element(vk_, {merged.element, merged.conflicts}, {remote, {}},
                                              std::nullopt, Take::remote, settled);
  EXPECT_EQ(settled, 1U);
  EXPECT_TRUE(resolved.conflicts.empty());
  ASSERT_TRUE(resolved.element);
  EXPECT_EQ(data_of(*resolved.element), (nlohmann::json{{"first_name", "Adele"}}));
}

TEST_F(ElementReconcileTest, FilesComeFromTheSideThatHasThemUntouched) {
  const StoredElement parent = element({{"first_name", "Ada"}});
  StoredElement local = element({{"first_name", "Ada"}}, {file(1)});
  StoredElement remote = element({{"first_name", "Ada"}, {"last_name", "King"}});
  const Reconciled merged = reconcile_element(vk_, {parent, {}}, {local, {}}, {remote, {}});
  ASSERT_TRUE(merged.element);
  ASSERT_EQ(merged.element->files.size(), 1U);
  EXPECT_EQ(merged.element->files[0].ciphertext, local.files[0].ciphertext);
  EXPECT_EQ(merged.element->files[0].wrapped_secret, local.files[0].wrapped_secret);
  // The data is the remote's exactly: its ciphertext is reused, not encrypted again.
  EXPECT_EQ(merged.element->data, remote.data);
}

TEST_F(ElementReconcileTest, ADeletionOfAnUnchangedElementDeletesIt) {
  const StoredElement parent = element({{"first_name", "Ada"}});
  const Reconciled merged = reconcile_element(vk_, {parent, {}}, {parent, {}}, {std::nullopt, {}});
  EXPECT_FALSE(merged.element);
}

TEST_F(ElementReconcileTest, DataUnderAnotherVaultKeyIsRefused) {
  const StoredElement parent = element({{"first_name", "Ada"}});
  const StoredElement local = element({{"first_name", "Augusta"}});
  SoftwareMasterKey other = SoftwareMasterKey::generate();
  EXPECT_THROW((void)reconcile_element(other, {parent, {}}, {local, {}}, {parent, {}}),
               DecryptError);
}

TEST(ElementConflictsJson, RoundTripsAndSwapsToThisDevicesView) {
  const std::vector<FieldConflict> conflicts{{"data.first_name", "Augusta", "Adele"}};
  EXPECT_EQ(conflicts_from_json(conflicts_json(conflicts), false), conflicts);
  const auto swapped = conflicts_from_json(conflicts_json(conflicts), true);
  EXPECT_EQ(swapped[0].local, "Adele");
  EXPECT_EQ(swapped[0].remote, "Augusta");
  EXPECT_THROW((void)conflicts_from_json(nlohmann::json::object(), false), FormatError);
  EXPECT_THROW((void)conflicts_from_json(nlohmann::json::array({{{"field", "x"}}}), false),
               FormatError);
}

}  // namespace
}  // namespace idvault::vault
