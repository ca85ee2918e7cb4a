// The receipt log as a tree (design.md, "Items and merge"): each receipt names the entry
// hash of the one it follows (64 zeros for a root), and with the cloud an account's
// devices each keep chaining their own, so two devices that shared while offline leave
// two branches. Both are kept; the log is sound when every receipt in it is:
//  - readable, its signature valid, its stored entry hash the one it hashes to;
//  - signed by a key the caller accepts (the vault's own identity key and the ones it had
//    before a recovery, and, in an account, every device key the verified account log
//    lists);
//  - rooted: its previous is 64 zeros or a receipt the log holds.
// Nothing anchors how many receipts there are: a deleted tail, or a deleted branch, is not
// detected here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/signed/share_receipt.h"
#include "vault/store/vault_store.h"

namespace idvault::vault {

// The previous of a receipt that starts a branch.
inline constexpr std::string_view kZeroEntryHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct ReceiptProblem {
  std::int64_t sequence = 0;  // the local sequence number of the receipt
  std::string reason;
};

struct ReceiptChainReport {
  bool valid = true;
  std::size_t count = 0;
  std::size_t heads = 0;  // receipts no other follows: the branches' ends
  std::optional<std::int64_t> first_bad_sequence;
  std::string reason;                    // the first problem's
  std::vector<ReceiptProblem> problems;  // every receipt at fault, in sequence order
};

// Why this receipt may not join a log holding the receipts whose entry hashes are held
// (lowercase hex), or nullopt when it may: the checks above, one receipt at a time.
// entry_hash: the hash it is kept under (checked against the receipt's own).
[[nodiscard]] std::optional<std::string> receipt_fault(const ShareReceipt& receipt,
                                                       std::string_view entry_hash,
                                                       const std::set<std::string>& held,
                                                       const std::vector<Bytes>& accepted_keys);

// Every receipt of the log checked as above, every problem reported (none is skipped
// silently, none stops the walk).
[[nodiscard]] ReceiptChainReport verify_receipt_tree(const std::vector<StoredReceipt>& receipts,
                                                     const std::vector<Bytes>& accepted_keys);
[[nodiscard]] ReceiptChainReport verify_receipt_chain(VaultStore& store,
                                                      const std::vector<Bytes>& accepted_keys);

}  // namespace idvault::vault
