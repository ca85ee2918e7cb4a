// What a vault in a cloud account records about it (the store's "cloud" setting): the
// server, the account, which device this is, the head of the account log it last
// verified (a later log must contain it: design.md, "Account log"), and how far it has
// pulled the account's changes. Also the account's URL, the one thing a person carries
// from one device to the next: https://HOST[:PORT]/v1/accounts/ACCOUNT_ID, which names the
// genesis entry itself (its SHA-256), so a server cannot hand a joining device another
// account.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vault/account/account_log.h"
#include "vault/store/vault_store.h"

namespace idvault::agent {

struct AccountUrl {
  std::string server;   // scheme://host[:port], what CloudClient takes
  std::string account;  // 64 lowercase hex digits
};

// Throws vault::FormatError("account_url", ...) for anything but the form above.
[[nodiscard]] AccountUrl parse_account_url(std::string_view url);
[[nodiscard]] std::string account_url(const AccountUrl& url);

struct CloudLink {
  AccountUrl url;
  std::string device_id;
  vault::KnownHead head;
  std::int64_t changes_seen = 0;    // the change counter pulled up to
  std::uint64_t vk_generation = 1;  // the VK generation this vault is under
};

[[nodiscard]] std::optional<CloudLink> load_cloud_link(vault::VaultStore& store);
// The setting as one value, to write with other settings in one transaction.
[[nodiscard]] std::pair<std::string, vault::Bytes> cloud_link_setting(const CloudLink& link);
void save_cloud_link(vault::VaultStore& store, const CloudLink& link);

// The account log as this device last verified it (each entry's exact text; the store's
// "account_log" setting), kept so every share can carry the proof that this device is the
// account's (vault/account/account_proof.h) without asking the server, offline too.
// Empty when none is kept: a vault linked before logs were kept gets one at its next sync.
// load throws vault::FormatError for a setting that does not read as a list of entries.
[[nodiscard]] std::vector<std::string> load_account_log(vault::VaultStore& store);
void save_account_log(vault::VaultStore& store, const std::vector<std::string>& entries);

// A device id from a name a person gave (or the host name): the characters the log
// allows, at most 64; FormatError("device_name", ...) when nothing is left.
[[nodiscard]] std::string device_id_from_name(std::string_view name);

}  // namespace idvault::agent
