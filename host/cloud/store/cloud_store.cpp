#include "host/cloud/store/cloud_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "common/hex.h"
#include "common/openssl_owners.h"
#include "host/cloud/store/postgres_cloud_store.h"
#include "host/cloud/store/sqlite_cloud_store.h"
#include "host/cloud/store/store_rules.h"

namespace idvault::cloud {

QuotaExceeded::QuotaExceeded(std::int64_t used_bytes, std::int64_t needed_bytes,
                             std::int64_t limit_bytes)
    : std::runtime_error("the account's quota is used up: it holds " + std::to_string(used_bytes) +
                         " bytes, the write needs " + std::to_string(needed_bytes) +
                         " more, the limit is " + std::to_string(limit_bytes)),
      used(used_bytes),
      needed(needed_bytes),
      limit(limit_bytes) {}

namespace {

bool lower_hex(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool valid_account_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 128 && lower_hex(id);
}

bool valid_sha256_hex(std::string_view id) noexcept {
  return id.size() == 64 && lower_hex(id);
}

bool valid_name(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 256 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  openssl::check(
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, openssl::sha256(), nullptr),
      "EVP_Digest");
  return hex_lower(digest);
}

std::string_view to_string(ChangeKind kind) noexcept {
  switch (kind) {
    case ChangeKind::log:
      return "log";
    case ChangeKind::slot:
      return "slot";
    case ChangeKind::item:
      return "item";
    case ChangeKind::file:
      return "file";
  }
  return "item";
}

namespace rules {

void check_account(const std::string& account) {
  if (!valid_account_id(account))
    throw std::invalid_argument("an account id is 1 to 128 lowercase hex digits");
}

void check_name(const std::string& what, const std::string& name) {
  if (!valid_name(name))
    throw std::invalid_argument(what + " is 1 to 256 printable ASCII bytes without spaces");
}

void check_seq(std::int64_t seq) {
  if (seq < 0) throw std::invalid_argument("a log entry's seq is not negative");
}

void check_item_write(const ItemWrite& write) {
  check_name("an item id", write.item_id);
  check_name("an item revision", write.revision);
  if (!write.parent_revision.empty())
    check_name("an item's parent revision", write.parent_revision);
  if (write.revision == write.parent_revision)
    throw std::invalid_argument("an item's revision differs from its parent's");
}

void check_join_request(const JoinRequest& request) {
  check_name("a join request id", request.id);
  check_name("a device id", request.device_id);
  check_name("a join request nonce", request.nonce);
  if (request.identity_key.empty() || request.slot_key.empty())
    throw std::invalid_argument("a join request names its identity key and slot key");
  if (request.expires <= request.created)
    throw std::invalid_argument("a join request expires after it was made");
}

void check_file(const std::string& sha256, std::span<const std::uint8_t> bytes) {
  if (!valid_sha256_hex(sha256))
    throw std::invalid_argument("a file is named by the 64 lowercase hex digits of its SHA-256");
  if (sha256_hex(bytes) != sha256)
    throw FileHashMismatch("the file's bytes do not hash to the SHA-256 it was sent under");
}

void check_quota(std::int64_t used, std::int64_t delta, const CloudLimits& limits) {
  if (delta > 0 && used + delta > limits.account_bytes)
    throw QuotaExceeded(used, delta, limits.account_bytes);
}

}  // namespace rules

bool names_postgres(std::string_view where) noexcept {
  return where.starts_with("postgresql://") || where.starts_with("postgres://");
}

std::unique_ptr<CloudStore> open_cloud_store(const std::string& where, const CloudLimits& limits) {
  if (names_postgres(where)) return std::make_unique<PostgresCloudStore>(where, limits);
  return std::make_unique<SqliteCloudStore>(where, limits);
}

}  // namespace idvault::cloud
