// The relying party's store (SQLite, WAL, full sync): the requests it issued (nonce,
// when, the digest of the asking page's read token) and what arrived for each — the
// decryption report, the signed errors sent back, and the decrypted files for the
// service's own pages. A nonce is claimed exactly once, in the same transaction that
// stores its result, so a replayed bundle never lands twice. Nothing stays for ever:
// purge() drops requests that expired unanswered and results past their retention.
//
// The database holds decrypted personal data: it is the service's to protect. The file
// is created 0600 before SQLite opens it, and SQLite gives its -wal and -shm the
// database's own mode, so no other user can open any of them at any moment.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vault/store/sqlite_db.h"

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

// One issued request as the read endpoints need it.
struct IssuedRequest {
  std::string read_token_sha256;  // hex; empty for rows made before read tokens existed
  bool answered = false;
  std::optional<std::int64_t> picked_up_at;  // first time the page read the result
};

// How long rows live (seconds).
struct RetentionPolicy {
  std::int64_t request_lifetime = 600;       // an unanswered request, from its issue
  std::int64_t result_keep = 7 * 24 * 3600;  // a result, from its arrival
};

class RequestStore {
 public:
  // ":memory:" keeps everything in memory (tests, demos).
  explicit RequestStore(const std::filesystem::path& path);

  void add_request(const std::string& nonce, const std::string& read_token_sha256,
                   std::int64_t now);
  [[nodiscard]] bool has_request(const std::string& nonce);
  [[nodiscard]] std::optional<IssuedRequest> request(const std::string& nonce);
  // Claims the nonce (unused, issued here, not older than max_age_seconds) and stores
  // what arrived, atomically; anything else changes nothing.
  ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                               std::int64_t max_age_seconds, const ReceivedResult& result,
                               const std::vector<StoredFile>& files);
  // The result, noting the first pickup time (kept when already set).
  [[nodiscard]] std::optional<ReceivedResult> pick_up(const std::string& nonce, std::int64_t now);
  [[nodiscard]] std::optional<ReceivedResult> result(const std::string& nonce);
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> file(const std::string& nonce,
                                                              const std::string& file_id);
  // Deletes requests that expired unanswered and results (with their files and request)
  // older than the policy allows. Returns how many requests went.
  std::size_t purge(std::int64_t now, const RetentionPolicy& policy);

 private:
  std::mutex mutex_;  // one connection, one writer at a time
  vault::SqliteDatabase db_;
};

}  // namespace idvault::rp
