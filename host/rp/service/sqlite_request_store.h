// The request store in SQLite (WAL, full sync): the embedded default, one process.
//
// The file is created 0600 before SQLite opens it, and SQLite gives its -wal and -shm the
// database's own mode, so no other user can open any of them at any moment.
#pragma once

#include <filesystem>
#include <mutex>

#include "host/rp/service/request_store.h"
#include "vault/store/sqlite_db.h"

namespace idvault::rp {

class SqliteRequestStore final : public RequestStore {
 public:
  // ":memory:" keeps everything in memory (tests, demos).
  explicit SqliteRequestStore(const std::filesystem::path& path);

  void add_request(const std::string& nonce, const std::string& read_token_sha256,
                   std::int64_t now) override;
  [[nodiscard]] bool has_request(const std::string& nonce) override;
  [[nodiscard]] std::optional<IssuedRequest> request(const std::string& nonce) override;
  using RequestStore::claim_and_store;
  ClaimOutcome claim_and_store(const std::string& nonce, std::int64_t now,
                               std::int64_t max_age_seconds, const ReceivedResult& result,
                               const std::vector<StoredFile>& files, const BundleKey* bundle,
                               const BundleOutcome& accepted) override;
  [[nodiscard]] BundleBegin begin_bundle(const BundleKey& bundle, const std::string& nonce,
                                         std::int64_t now, std::int64_t lease_seconds) override;
  void settle_bundle(const BundleKey& bundle, const BundleOutcome& refused) override;
  void release_bundle(const BundleKey& bundle) override;
  [[nodiscard]] std::optional<ReceivedResult> pick_up(const std::string& nonce,
                                                      std::int64_t now) override;
  [[nodiscard]] std::optional<ReceivedResult> result(const std::string& nonce) override;
  [[nodiscard]] std::optional<SealedFile> file(const std::string& nonce,
                                               const std::string& file_id) override;
  std::size_t purge(std::int64_t now, const RetentionPolicy& policy) override;
  bool forget(const std::string& nonce, std::int64_t now) override;
  [[nodiscard]] std::vector<std::string> known_account_log(const std::string& account_id) override;
  bool replace_account_log(const std::string& account_id, std::size_t held_length,
                           const std::vector<std::string>& log) override;

 private:
  std::mutex mutex_;  // one connection, one writer at a time
  vault::SqliteDatabase db_;
};

}  // namespace idvault::rp
