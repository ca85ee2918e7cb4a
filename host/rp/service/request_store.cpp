#include "host/rp/service/request_store.h"

#include "host/rp/service/postgres_request_store.h"
#include "host/rp/service/sqlite_request_store.h"

namespace idvault::rp {

BundleBegin RequestStore::admit_bundle(const BundleKey& bundle, const std::string& nonce,
                                       std::int64_t now, std::int64_t lease_seconds) {
  const auto issued = request(nonce);
  if (!issued) return {BundleState::unknown_request, {}};
  if (issued->answered) return {BundleState::answered_request, {}};
  return begin_bundle(bundle, nonce, now, lease_seconds);
}

bool names_postgres(const std::string& db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

std::unique_ptr<RequestStore> open_request_store(const std::string& db) {
  if (names_postgres(db)) return std::make_unique<PostgresRequestStore>(db);
  return std::make_unique<SqliteRequestStore>(db);
}

}  // namespace idvault::rp
