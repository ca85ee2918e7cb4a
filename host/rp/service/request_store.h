// The relying party's store: the requests it issued (nonce, when, the digest of the
// asking page's read token) and what arrived for each — the decryption report, the signed
// errors sent back, and the decrypted files for the service's own pages. A nonce is
// claimed exactly once, in the same transaction that stores its result, so a replayed
// bundle never lands twice. Nothing stays for ever: purge() drops requests that expired
// unanswered and results past their retention.
//
// Two back-ends behind one interface, chosen by open_request_store(): SQLite (embedded,
// the default; sqlite_request_store.h) and PostgreSQL for several workers on one
// database (postgres_request_store.h).
//
// What arrives is stored sealed (result_sealer.h): the database holds no personal data
// in the clear, only data keys wrapped by the seal key on the HSM and AES-GCM ciphertext.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace idvault::rp {

// The database cannot be reached (down, restarting, connection lost): the call changed
// nothing that was not rolled back; the same call may succeed a moment later. A server
// answers 503 with Retry-After, not 500.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ClaimOutcome { claimed, unknown, replayed, expired };

// One result as stored: sealed, never plaintext.
struct ReceivedResult {
  std::vector<std::uint8_t> wrapped_key;  // its data key, wrapped by the seal key on the HSM
  std::vector<std::uint8_t> report;       // the decryption report (JSON), sealed
  std::vector<std::uint8_t> errors;       // signed element errors (JSON or null), sealed
  std::int64_t received_at = 0;
};

struct StoredFile {
  std::string file_id;
  std::vector<std::uint8_t> bytes;  // sealed under its result's data key
};

// One file as read back: its sealed bytes and the wrapped data key of its result.
struct SealedFile {
  std::vector<std::uint8_t> wrapped_key;
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
  virtual ~RequestStore() = default;

  virtual void add_request(const std::string& nonce, const std::string& read_token_sha256,
                           std::int64_t now) = 0;
  [[nodiscard]] virtual bool has_request(const std::string& nonce) = 0;
  [[nodiscard]] virtual std::optional<IssuedRequest> request(const std::string& nonce) = 0;
  // Claims the nonce (unused, issued here, not older than max_age_seconds) and stores
  // what arrived, atomically; anything else changes nothing.
  virtual ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                                       std::int64_t max_age_seconds, const ReceivedResult& result,
                                       const std::vector<StoredFile>& files) = 0;
  // The result, noting the first pickup time (kept when already set).
  [[nodiscard]] virtual std::optional<ReceivedResult> pick_up(const std::string& nonce,
                                                              std::int64_t now) = 0;
  [[nodiscard]] virtual std::optional<ReceivedResult> result(const std::string& nonce) = 0;
  [[nodiscard]] virtual std::optional<SealedFile> file(const std::string& nonce,
                                                       const std::string& file_id) = 0;
  // Deletes requests that expired unanswered and results (with their files and request)
  // older than the policy allows. Returns how many requests went.
  virtual std::size_t purge(std::int64_t now, const RetentionPolicy& policy) = 0;
  // Removes the nonce's result and files at once (`idvault-rp forget`, the holder's erase
  // request) and spends the nonce if it was open, so nothing can land for it afterwards;
  // the purge takes the request row. Returns whether a result was still held.
  virtual bool forget(const std::string& nonce, std::int64_t now) = 0;
};

// "postgresql://..." or "postgres://..." (a libpq URI): PostgreSQL; anything else is a
// SQLite file (":memory:" keeps everything in memory: tests, demos).
[[nodiscard]] bool names_postgres(const std::string& db);
[[nodiscard]] std::unique_ptr<RequestStore> open_request_store(const std::string& db);

}  // namespace idvault::rp
