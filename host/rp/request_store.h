// The relying party's store (SQLite, WAL, full sync): the requests it issued (nonce,
// when) and what arrived for each — the decryption report, the signed errors sent back,
// and the decrypted files for the service's own pages. A nonce is claimed exactly once,
// in the same transaction that stores its result, so a replayed bundle never lands twice.
//
// The database holds decrypted personal data: it is the service's to protect (0600,
// on an encrypted disk, PostgreSQL when many workers share it — design.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vault/sqlite_db.h"

namespace idvault::rp {

enum class ClaimOutcome { claimed, unknown, replayed, expired };

struct ReceivedResult {
  std::string report_json;
  std::string errors_json;  // signed element errors, or "null"
  std::int64_t received_at = 0;
};

struct StoredFile {
  std::string file_id;
  std::vector<std::uint8_t> bytes;
};

class RequestStore {
 public:
  // ":memory:" keeps everything in memory (tests, demos).
  explicit RequestStore(const std::filesystem::path& path);

  void add_request(const std::string& nonce, std::int64_t now);
  [[nodiscard]] bool has_request(const std::string& nonce);
  // Claims the nonce (unused, issued here, not older than max_age_seconds) and stores
  // what arrived, atomically; anything else changes nothing.
  ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                               std::int64_t max_age_seconds, const ReceivedResult& result,
                               const std::vector<StoredFile>& files);
  [[nodiscard]] std::optional<ReceivedResult> result(const std::string& nonce);
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> file(const std::string& nonce,
                                                              const std::string& file_id);

 private:
  std::mutex mutex_;  // one connection, one writer at a time
  vault::SqliteDatabase db_;
};

}  // namespace idvault::rp
