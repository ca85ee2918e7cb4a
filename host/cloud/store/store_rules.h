// The checks both back-ends make before touching the database, written once: ids from
// requests, the file's hash, the quota.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "host/cloud/store/cloud_store.h"

namespace idvault::cloud::rules {

void check_account(const std::string& account);  // std::invalid_argument
void check_name(const std::string& what, const std::string& name);
void check_seq(std::int64_t seq);
void check_item_write(const ItemWrite& write);
void check_join_request(const JoinRequest& request);
// FileHashMismatch unless bytes hash to sha256 (checked valid first).
void check_file(const std::string& sha256, std::span<const std::uint8_t> bytes);
// QuotaExceeded when adding delta (may be negative: never refused) passes the limit.
void check_quota(std::int64_t used, std::int64_t delta, const CloudLimits& limits);

[[nodiscard]] inline std::int64_t size_of(std::span<const std::uint8_t> bytes) {
  return static_cast<std::int64_t>(bytes.size());
}

// A page size as SQL's LIMIT: SIZE_MAX would wrap to a negative number, which SQLite reads
// as no limit and PostgreSQL refuses.
[[nodiscard]] inline std::int64_t row_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX)));
}

}  // namespace idvault::cloud::rules
