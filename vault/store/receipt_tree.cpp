#include "vault/store/receipt_tree.h"

#include <algorithm>

namespace idvault::vault {

std::optional<std::string> receipt_fault(const ShareReceipt& receipt, std::string_view entry_hash,
                                         const std::set<std::string>& held,
                                         const std::vector<Bytes>& accepted_keys) {
  if (std::find(accepted_keys.begin(), accepted_keys.end(), receipt.public_key_spki_der) ==
      accepted_keys.end()) {
    return "signed by a key that is neither this vault's identity key nor a device key of the "
           "account";
  }
  if (!verify_receipt(receipt)) return "signature does not verify";
  if (receipt_entry_hash(receipt) != entry_hash) return "entry hash does not match the receipt";
  if (receipt.fields.previous != kZeroEntryHash && !held.contains(receipt.fields.previous)) {
    return "chain broken: follows a receipt the log does not hold";
  }
  return std::nullopt;
}

ReceiptChainReport verify_receipt_tree(const std::vector<StoredReceipt>& receipts,
                                       const std::vector<Bytes>& accepted_keys) {
  ReceiptChainReport report;
  std::set<std::string> held;
  for (const StoredReceipt& stored : receipts)
    held.emplace(stored.entry_hash.begin(), stored.entry_hash.end());
  std::set<std::string> followed;  // entry hashes some receipt names as its previous
  std::set<std::string> seen;
  for (const StoredReceipt& stored : receipts) {
    ++report.count;
    const std::string entry_hash(stored.entry_hash.begin(), stored.entry_hash.end());
    std::optional<std::string> fault;
    try {
      const ShareReceipt receipt = receipt_from_json(nlohmann::json::parse(stored.receipt_json));
      fault = receipt_fault(receipt, entry_hash, held, accepted_keys);
      followed.insert(receipt.fields.previous);
    } catch (const std::exception&) {
      fault = "receipt is not readable";
    }
    if (!fault && !seen.insert(entry_hash).second) fault = "the same receipt is kept twice";
    if (!fault) continue;
    if (report.valid) {
      report.valid = false;
      report.first_bad_sequence = stored.sequence;
      report.reason = *fault;
    }
    report.problems.push_back({stored.sequence, std::move(*fault)});
  }
  for (const std::string& hash : seen) {
    if (!followed.contains(hash)) ++report.heads;
  }
  return report;
}

ReceiptChainReport verify_receipt_chain(VaultStore& store,
                                        const std::vector<Bytes>& accepted_keys) {
  return verify_receipt_tree(store.receipts(), accepted_keys);
}

}  // namespace idvault::vault
