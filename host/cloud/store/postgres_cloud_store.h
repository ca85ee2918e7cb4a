// The cloud store in PostgreSQL (libpqxx 6.4): many server processes behind a load
// balancer share one database, files included (a bytea table, so no process needs a
// shared disk). A small pool of connections per store; a connection that breaks is
// dropped and the next call opens a new one, the call under way gets StoreUnavailable.
//
// Every write locks its account's row first (SELECT ... FOR UPDATE): writes to one
// account are serialised across all processes, so the log's compare-and-set, the item's
// revision check, the change counter and the quota are each read and written under one
// lock. Writes to different accounts do not wait for each other. A commit lost in doubt
// is settled by reading back what it would have written (append, item, account) or
// reported as StoreUnavailable for the writes that are safe to repeat (slots, files).
#pragma once

#include <cstddef>
#include <memory>

#include "host/cloud/store/cloud_store.h"

namespace idvault::postgres {
class ConnectionPool;
}  // namespace idvault::postgres

namespace idvault::cloud {

class PostgresCloudStore final : public CloudStore {
 public:
  // uri: a libpq connection URI. At most `connections` are open at once; more callers
  // wait for one. Creates the tables when missing.
  explicit PostgresCloudStore(const std::string& uri, const CloudLimits& limits = {},
                              std::size_t connections = 8);
  ~PostgresCloudStore() override;
  PostgresCloudStore(const PostgresCloudStore&) = delete;  // one owner of the pool
  PostgresCloudStore& operator=(const PostgresCloudStore&) = delete;
  PostgresCloudStore(PostgresCloudStore&&) = delete;
  PostgresCloudStore& operator=(PostgresCloudStore&&) = delete;

  void create_account(const std::string& account, std::span<const std::uint8_t> genesis) override;
  [[nodiscard]] bool has_account(const std::string& account) override;
  [[nodiscard]] std::optional<LogConflict> append_log_entry(
      const std::string& account, std::int64_t seq, std::span<const std::uint8_t> bytes) override;
  [[nodiscard]] std::vector<LogEntry> log(const std::string& account,
                                          std::int64_t from_seq) override;
  void put_slot(const std::string& account, const std::string& slot_id,
                std::span<const std::uint8_t> bytes) override;
  bool remove_slot(const std::string& account, const std::string& slot_id) override;
  [[nodiscard]] std::vector<KeySlot> slots(const std::string& account) override;
  [[nodiscard]] std::optional<ItemConflict> put_item(const std::string& account,
                                                     const ItemWrite& write) override;
  [[nodiscard]] std::optional<StoredItem> item(const std::string& account,
                                               const std::string& item_id) override;
  void put_file(const std::string& account, const std::string& sha256,
                std::span<const std::uint8_t> bytes) override;
  [[nodiscard]] bool has_file(const std::string& account, const std::string& sha256) override;
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> file(const std::string& account,
                                                              const std::string& sha256) override;
  [[nodiscard]] std::optional<std::filesystem::path> file_on_disk(
      const std::string& account, const std::string& sha256) override;
  [[nodiscard]] std::unique_ptr<IncomingFile> receive_file(const std::string& account,
                                                           const std::string& sha256,
                                                           std::uint64_t size) override;
  void put_file(const std::string& account, const std::string& sha256, IncomingFile& file) override;
  [[nodiscard]] std::vector<Change> changes_since(const std::string& account, std::int64_t after,
                                                  std::size_t limit) override;
  [[nodiscard]] std::int64_t counter(const std::string& account) override;
  [[nodiscard]] std::int64_t bytes_used(const std::string& account) override;
  [[nodiscard]] std::optional<JoinRequestsFull> add_join_request(const std::string& account,
                                                                 const JoinRequest& request,
                                                                 std::size_t max_pending) override;
  [[nodiscard]] std::vector<JoinRequest> join_requests(const std::string& account,
                                                       std::int64_t now) override;
  [[nodiscard]] std::optional<JoinRequest> join_request(const std::string& account,
                                                        const std::string& id) override;
  bool remove_join_request(const std::string& account, const std::string& id) override;
  std::size_t purge_join_requests(std::int64_t expired_by) override;
  void put_recovery_key(const std::string& account,
                        std::span<const std::uint8_t> envelope) override;
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> recovery_key(
      const std::string& account) override;
  [[nodiscard]] bool remember_nonce(const std::string& device_id, const std::string& nonce,
                                    std::int64_t expires_at, std::int64_t now) override;
  std::size_t purge_nonces(std::int64_t now) override;

 private:
  CloudLimits limits_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace idvault::cloud
