// PostgresCloudStore's join requests and recovery key envelope (cloud_store.h): the rows
// devices reach before they hold a key of the account, kept apart from its synced data.
// Adding a request locks the account's row, so the pending count holds across processes.
#include <pqxx/pqxx>

#include "host/cloud/store/postgres_access.h"
#include "host/cloud/store/postgres_cloud_store.h"
#include "host/cloud/store/store_rules.h"

namespace idvault::cloud {
namespace {

using postgres::bytea;
using postgres::bytes_of;

constexpr const char* kColumns =
    "SELECT id, device_id, identity_key, slot_key, nonce, created, expires FROM join_requests ";

JoinRequest request_row(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<std::string>(), bytes_of(row[2]),
          bytes_of(row[3]),         row[4].as<std::string>(), row[5].as<std::int64_t>(),
          row[6].as<std::int64_t>()};
}

}  // namespace

std::optional<JoinRequestsFull> PostgresCloudStore::add_join_request(const std::string& account,
                                                                     const JoinRequest& request,
                                                                     std::size_t max_pending) {
  rules::check_account(account);
  rules::check_join_request(request);
  // Lost in doubt: the caller's 503 makes the device ask again, and the request it was
  // not told about lapses unlisted by anyone who waits for it.
  return pg::repeatable_write(*pool_, [&](pqxx::connection& c) -> std::optional<JoinRequestsFull> {
    pqxx::work transaction(c);
    (void)pg::locked_account(transaction, account);
    const pqxx::result pending = transaction.exec_params(
        "SELECT count(*), coalesce(min(expires), 0) FROM join_requests "
        "WHERE account = $1 AND expires > $2",
        account, request.created);
    if (pending[0][0].as<std::size_t>() >= max_pending)
      return JoinRequestsFull{pending[0][1].as<std::int64_t>()};
    transaction.exec_params0(
        "INSERT INTO join_requests (account, id, device_id, identity_key, slot_key, nonce, "
        "created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        account, request.id, request.device_id, bytea(request.identity_key),
        bytea(request.slot_key), request.nonce, request.created, request.expires);
    transaction.commit();
    return std::nullopt;
  });
}

std::vector<JoinRequest> PostgresCloudStore::join_requests(const std::string& account,
                                                           std::int64_t now) {
  rules::check_account(account);
  return pg::with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::read_transaction transaction(c);
    pg::require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        std::string(kColumns) + "WHERE account = $1 AND expires > $2 ORDER BY created, id", account,
        now);
    std::vector<JoinRequest> found;
    for (const auto& row : rows) found.push_back(request_row(row));
    return found;
  });
}

std::optional<JoinRequest> PostgresCloudStore::join_request(const std::string& account,
                                                            const std::string& id) {
  rules::check_account(account);
  rules::check_name("a join request id", id);
  return pg::with_connection(*pool_, [&](pqxx::connection& c) -> std::optional<JoinRequest> {
    pqxx::read_transaction transaction(c);
    pg::require_account(transaction, account);
    const pqxx::result rows = transaction.exec_params(
        std::string(kColumns) + "WHERE account = $1 AND id = $2", account, id);
    if (rows.empty()) return std::nullopt;
    return request_row(rows[0]);
  });
}

bool PostgresCloudStore::remove_join_request(const std::string& account, const std::string& id) {
  rules::check_account(account);
  rules::check_name("a join request id", id);
  return pg::repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    pg::require_account(transaction, account);
    const pqxx::result removed = transaction.exec_params0(
        "DELETE FROM join_requests WHERE account = $1 AND id = $2", account, id);
    transaction.commit();
    return removed.affected_rows() > 0;
  });
}

std::size_t PostgresCloudStore::purge_join_requests(std::int64_t expired_by) {
  return pg::with_connection(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    const pqxx::result purged =
        transaction.exec_params0("DELETE FROM join_requests WHERE expires <= $1", expired_by);
    transaction.commit();
    return static_cast<std::size_t>(purged.affected_rows());
  });
}

void PostgresCloudStore::put_recovery_key(const std::string& account,
                                          std::span<const std::uint8_t> envelope) {
  rules::check_account(account);
  pg::repeatable_write(*pool_, [&](pqxx::connection& c) {
    pqxx::work transaction(c);
    (void)pg::locked_account(transaction, account);
    transaction.exec_params0(
        "INSERT INTO recovery_keys (account, envelope) VALUES ($1, $2) "
        "ON CONFLICT (account) DO UPDATE SET envelope = EXCLUDED.envelope",
        account, bytea(envelope));
    transaction.commit();
  });
}

std::optional<std::vector<std::uint8_t>> PostgresCloudStore::recovery_key(
    const std::string& account) {
  rules::check_account(account);
  return pg::with_connection(
      *pool_, [&](pqxx::connection& c) -> std::optional<std::vector<std::uint8_t>> {
        pqxx::read_transaction transaction(c);
        pg::require_account(transaction, account);
        const pqxx::result rows = transaction.exec_params(
            "SELECT envelope FROM recovery_keys WHERE account = $1", account);
        if (rows.empty()) return std::nullopt;
        return bytes_of(rows[0][0]);
      });
}

}  // namespace idvault::cloud
