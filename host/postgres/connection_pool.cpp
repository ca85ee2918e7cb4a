#include "host/postgres/connection_pool.h"

#include <utility>

namespace idvault::postgres {

ConnectionPool::ConnectionPool(std::string uri, std::size_t limit, OnConnect on_connect)
    : uri_(std::move(uri)), limit_(limit == 0 ? 1 : limit), on_connect_(std::move(on_connect)) {}

std::unique_ptr<pqxx::connection> ConnectionPool::take() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return !idle_.empty() || open_ < limit_; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }
  ++open_;
  lock.unlock();
  try {
    auto connection = std::make_unique<pqxx::connection>(uri_);
    if (on_connect_) on_connect_(*connection);
    return connection;
  } catch (...) {
    lock.lock();
    --open_;
    available_.notify_one();
    throw;
  }
}

// A broken connection (or none, when the lease dropped it) is closed, not kept.
void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> connection) {
  const std::lock_guard lock(mutex_);
  if (connection && connection->is_open()) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  available_.notify_one();
}

std::vector<std::uint8_t> bytes_of(const pqxx::field& field) {
  const pqxx::binarystring bytes(field);
  return {bytes.data(), bytes.data() + bytes.size()};
}

pqxx::binarystring bytea(std::span<const std::uint8_t> bytes) {
  return {bytes.data(), bytes.size()};
}

}  // namespace idvault::postgres
