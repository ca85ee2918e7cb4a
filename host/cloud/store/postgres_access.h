// How PostgresCloudStore's files reach the database, written once: a pooled connection
// whose loss is StoreUnavailable, a write safe to repeat, and the account's row (locked
// for a write, or only required to exist). Internal to the store.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "host/cloud/store/cloud_store.h"
#include "host/postgres/connection_pool.h"

namespace idvault::cloud::pg {

using Pool = postgres::ConnectionPool;

// Runs f on a pooled connection; a lost or unreachable database is StoreUnavailable.
template <class F>
auto with_connection(Pool& pool, F&& f) {
  return pool.with_connection<StoreUnavailable>(std::forward<F>(f));
}

// A write whose commit was lost in doubt and that is safe to repeat: the caller does.
template <class F>
auto repeatable_write(Pool& pool, F&& f) {
  try {
    return with_connection(pool, std::forward<F>(f));
  } catch (const pqxx::in_doubt_error&) {
    throw StoreUnavailable("PostgreSQL lost a commit in doubt; the write is safe to repeat");
  }
}

struct AccountRow {
  std::int64_t log_length = 0;
  std::int64_t counter = 0;
  std::int64_t bytes_used = 0;
};

[[noreturn]] inline void unknown(const std::string& account) {
  throw UnknownAccount("no account " + account + " on this server");
}

// The account's row, locked until the transaction ends: every write starts here.
inline AccountRow locked_account(pqxx::work& transaction, const std::string& account) {
  const pqxx::result row = transaction.exec_params(
      "SELECT log_length, counter, bytes_used FROM accounts WHERE account = $1 FOR UPDATE",
      account);
  if (row.empty()) unknown(account);
  return {row[0][0].as<std::int64_t>(), row[0][1].as<std::int64_t>(), row[0][2].as<std::int64_t>()};
}

inline void require_account(pqxx::transaction_base& transaction, const std::string& account) {
  if (transaction.exec_params("SELECT 1 FROM accounts WHERE account = $1", account).empty())
    unknown(account);
}

}  // namespace idvault::cloud::pg
