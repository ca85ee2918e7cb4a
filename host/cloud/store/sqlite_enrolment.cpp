// SqliteCloudStore's join requests and recovery key envelope (cloud_store.h): the rows
// devices reach before they hold a key of the account, kept apart from its synced data.
#include "host/cloud/store/sqlite_cloud_store.h"
#include "host/cloud/store/store_rules.h"

namespace idvault::cloud {
namespace {

constexpr const char* kColumns =
    "SELECT id, device_id, identity_key, slot_key, nonce, created, expires FROM join_requests ";

JoinRequest request_row(const vault::SqliteStatement& row) {
  return {row.text(0), row.text(1),    row.blob(2),   row.blob(3),
          row.text(4), row.integer(5), row.integer(6)};
}

}  // namespace

std::optional<JoinRequestsFull> SqliteCloudStore::add_join_request(const std::string& account,
                                                                   const JoinRequest& request,
                                                                   std::size_t max_pending) {
  rules::check_account(account);
  rules::check_join_request(request);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  (void)account_row(account);
  auto pending = db_.prepare(
      "SELECT count(*), min(expires) FROM join_requests WHERE account = ? AND expires > ?");
  pending.bind(1, account).bind(2, request.created);
  (void)pending.step();
  if (static_cast<std::size_t>(pending.integer(0)) >= max_pending)
    return JoinRequestsFull{pending.integer(1)};
  db_.prepare(
         "INSERT INTO join_requests (account, id, device_id, identity_key, slot_key, nonce, "
         "created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, account)
      .bind(2, request.id)
      .bind(3, request.device_id)
      .bind_blob(4, request.identity_key)
      .bind_blob(5, request.slot_key)
      .bind(6, request.nonce)
      .bind(7, request.created)
      .bind(8, request.expires)
      .run();
  transaction.commit();
  return std::nullopt;
}

std::vector<JoinRequest> SqliteCloudStore::join_requests(const std::string& account,
                                                         std::int64_t now) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto rows =
      db_.prepare(std::string(kColumns) + "WHERE account = ? AND expires > ? ORDER BY created, id");
  rows.bind(1, account).bind(2, now);
  std::vector<JoinRequest> found;
  while (rows.step()) found.push_back(request_row(rows));
  return found;
}

std::optional<JoinRequest> SqliteCloudStore::join_request(const std::string& account,
                                                          const std::string& id) {
  rules::check_account(account);
  rules::check_name("a join request id", id);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto row = db_.prepare(std::string(kColumns) + "WHERE account = ? AND id = ?");
  row.bind(1, account).bind(2, id);
  if (!row.step()) return std::nullopt;
  return request_row(row);
}

bool SqliteCloudStore::remove_join_request(const std::string& account, const std::string& id) {
  rules::check_account(account);
  rules::check_name("a join request id", id);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  db_.prepare("DELETE FROM join_requests WHERE account = ? AND id = ?")
      .bind(1, account)
      .bind(2, id)
      .run();
  return sqlite3_changes(db_.handle()) > 0;
}

std::size_t SqliteCloudStore::purge_join_requests(std::int64_t expired_by) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM join_requests WHERE expires <= ?").bind(1, expired_by).run();
  return static_cast<std::size_t>(sqlite3_changes(db_.handle()));
}

void SqliteCloudStore::put_recovery_key(const std::string& account,
                                        std::span<const std::uint8_t> envelope) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  vault::SqliteTransaction transaction(db_);
  (void)account_row(account);
  db_.prepare("INSERT OR REPLACE INTO recovery_keys (account, envelope) VALUES (?, ?)")
      .bind(1, account)
      .bind_blob(2, envelope)
      .run();
  transaction.commit();
}

std::optional<std::vector<std::uint8_t>> SqliteCloudStore::recovery_key(
    const std::string& account) {
  rules::check_account(account);
  std::lock_guard lock(mutex_);
  (void)account_row(account);
  auto row = db_.prepare("SELECT envelope FROM recovery_keys WHERE account = ?");
  row.bind(1, account);
  if (!row.step()) return std::nullopt;
  return row.blob(0);
}

}  // namespace idvault::cloud
