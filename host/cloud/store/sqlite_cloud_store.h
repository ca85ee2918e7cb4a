// The cloud store in one data directory: cloud.db (SQLite, WAL, full sync) holds the
// accounts, logs, slots, items, the change records and the nonces; files/ACCOUNT/SHA256
// holds each file's ciphertext, named by its hash, one folder per account. One server
// process (BEGIN IMMEDIATE keeps a second one on the same directory correct, not fast).
//
// Private from the first byte, whatever the umask: the directory and its folders are made
// 0700, cloud.db 0600 before SQLite opens it (its -wal and -shm take its mode), and each
// file is written to a temporary made 0600 by mkostemp and fsynced with no lock held,
// then renamed into place and its folder fsynced in the transaction that lists it. A
// crash leaves a file acknowledged whole, or an unlisted file nobody was told about;
// temporaries it left are removed at the next open.
#pragma once

#include <filesystem>
#include <mutex>

#include "host/cloud/store/cloud_store.h"
#include "vault/store/sqlite_db.h"

namespace idvault::cloud {

class SqliteCloudStore final : public CloudStore {
 public:
  // Creates the directory (0700) and its database when missing; an existing directory is
  // made 0700 too.
  explicit SqliteCloudStore(const std::filesystem::path& data_dir, const CloudLimits& limits = {});

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

  // Where the file named sha256 of account lives (tests look at its mode).
  [[nodiscard]] std::filesystem::path file_path(const std::string& account,
                                                const std::string& sha256) const;

  struct AccountRow {
    std::int64_t log_length = 0;
    std::int64_t counter = 0;
    std::int64_t bytes_used = 0;
  };

 private:
  AccountRow account_row(const std::string& account);  // UnknownAccount
  std::int64_t record_change(const std::string& account, const AccountRow& row, ChangeKind kind,
                             const std::string& id, std::int64_t bytes_delta,
                             std::int64_t log_delta);

  std::filesystem::path files_;  // data_dir/files
  CloudLimits limits_;
  std::mutex mutex_;  // one connection, one writer at a time
  vault::SqliteDatabase db_;
};

}  // namespace idvault::cloud
