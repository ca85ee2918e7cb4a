// The receipt log as a tree (vault/store/receipt_tree.h): two devices' branches verify,
// and a receipt by an unknown key, one following a receipt the log lacks, and a forged
// one are each reported, naming that receipt, without hiding the others.
#include "vault/store/receipt_tree.h"

#include <gtest/gtest.h>

#include "vault/keys/software_keys.h"

namespace idvault::vault {
namespace {

struct Made {
  ShareReceipt receipt;
  StoredReceipt stored;
};

std::int64_t next_sequence = 0;

Made make(const SigningKey& key, const std::string& previous, const std::string& nonce) {
  ReceiptFields fields;
  fields.service_id = "svc";
  fields.service_key_sha256 = std::string(64, 'a');
  fields.nonce = nonce;
  fields.credentials_hash = "Y3JlZA==";
  fields.element_hashes = {{"passport", "aGFzaA=="}};
  fields.time = 1700000000;
  fields.previous = previous;
  Made made{sign_receipt(std::move(fields), key), {}};
  const std::string entry = receipt_entry_hash(made.receipt);
  made.stored = {++next_sequence, to_json(made.receipt).dump(),
                 Bytes(previous.begin(), previous.end()), Bytes(entry.begin(), entry.end())};
  return made;
}

std::string hash_of(const Made& made) {
  return {made.stored.entry_hash.begin(), made.stored.entry_hash.end()};
}

class ReceiptTree : public ::testing::Test {
 protected:
  SoftwareSigningKey desk = SoftwareSigningKey::generate();
  SoftwareSigningKey laptop = SoftwareSigningKey::generate();
  SoftwareSigningKey stranger = SoftwareSigningKey::generate();
  std::vector<Bytes> account_keys{desk.public_key_spki_der(), laptop.public_key_spki_der()};
};

TEST_F(ReceiptTree, TwoDevicesBranchesVerifyWithTwoHeads) {
  const Made root = make(desk, std::string(kZeroEntryHash), "n1");
  const Made on_desk = make(desk, hash_of(root), "n2");
  const Made on_laptop = make(laptop, hash_of(root), "n3");  // shared offline: a fork
  const Made laptop_next = make(laptop, hash_of(on_laptop), "n4");
  const ReceiptChainReport report = verify_receipt_tree(
      {root.stored, on_desk.stored, on_laptop.stored, laptop_next.stored}, account_keys);
  EXPECT_TRUE(report.valid) << report.reason;
  EXPECT_EQ(report.count, 4u);
  EXPECT_EQ(report.heads, 2u);
  EXPECT_TRUE(report.problems.empty());
}

TEST_F(ReceiptTree, TwoRootsAreTwoBranches) {
  const Made a = make(desk, std::string(kZeroEntryHash), "n1");
  const Made b = make(laptop, std::string(kZeroEntryHash), "n2");
  const ReceiptChainReport report = verify_receipt_tree({a.stored, b.stored}, account_keys);
  EXPECT_TRUE(report.valid) << report.reason;
  EXPECT_EQ(report.heads, 2u);
}

TEST_F(ReceiptTree, AnUnknownSignerIsReported) {
  const Made root = make(desk, std::string(kZeroEntryHash), "n1");
  const Made foreign = make(stranger, hash_of(root), "n2");
  const ReceiptChainReport report =
      verify_receipt_tree({root.stored, foreign.stored}, account_keys);
  EXPECT_FALSE(report.valid);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].sequence, foreign.stored.sequence);
  EXPECT_NE(report.problems[0].reason.find("neither this vault's identity key nor a device key"),
            std::string::npos);
  EXPECT_EQ(report.first_bad_sequence, foreign.stored.sequence);
}

TEST_F(ReceiptTree, AMissingPreviousIsReported) {
  const Made root = make(desk, std::string(kZeroEntryHash), "n1");
  const Made dropped = make(laptop, hash_of(root), "n2");
  const Made orphan = make(laptop, hash_of(dropped), "n3");
  // The log lost `dropped`: what followed it names a previous the log does not hold.
  const ReceiptChainReport report = verify_receipt_tree({root.stored, orphan.stored}, account_keys);
  EXPECT_FALSE(report.valid);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].sequence, orphan.stored.sequence);
  EXPECT_NE(report.problems[0].reason.find("chain broken"), std::string::npos);
}

TEST_F(ReceiptTree, AForgedSignatureIsReportedAndTheOthersStillChecked) {
  const Made root = make(desk, std::string(kZeroEntryHash), "n1");
  Made forged = make(laptop, hash_of(root), "n2");
  // Another service named after signing: the signature no longer covers the fields.
  nlohmann::json json = nlohmann::json::parse(forged.stored.receipt_json);
  json["signed"]["service_id"] = "elsewhere";
  forged.stored.receipt_json = json.dump();
  const Made foreign = make(stranger, hash_of(root), "n3");
  const ReceiptChainReport report =
      verify_receipt_tree({root.stored, forged.stored, foreign.stored}, account_keys);
  EXPECT_FALSE(report.valid);
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_EQ(report.problems[0].sequence, forged.stored.sequence);
  EXPECT_EQ(report.problems[0].reason, "signature does not verify");
  EXPECT_EQ(report.problems[1].sequence, foreign.stored.sequence);
}

TEST_F(ReceiptTree, AStoredEntryHashThatIsNotTheReceiptsIsReported) {
  Made root = make(desk, std::string(kZeroEntryHash), "n1");
  root.stored.entry_hash = Bytes(64, 'b');
  const ReceiptChainReport report = verify_receipt_tree({root.stored}, account_keys);
  EXPECT_FALSE(report.valid);
  EXPECT_EQ(report.reason, "entry hash does not match the receipt");
}

TEST_F(ReceiptTree, ReceiptFaultJudgesOneReceiptAgainstWhatIsHeld) {
  const Made root = make(desk, std::string(kZeroEntryHash), "n1");
  const Made next = make(laptop, hash_of(root), "n2");
  EXPECT_FALSE(receipt_fault(root.receipt, hash_of(root), {}, account_keys));
  EXPECT_TRUE(receipt_fault(next.receipt, hash_of(next), {}, account_keys));
  EXPECT_FALSE(receipt_fault(next.receipt, hash_of(next), {hash_of(root)}, account_keys));
  EXPECT_TRUE(
      receipt_fault(next.receipt, hash_of(next), {hash_of(root)}, {desk.public_key_spki_der()}));
}

}  // namespace
}  // namespace idvault::vault
