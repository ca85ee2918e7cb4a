// A bounded pool of libpqxx connections, shared by the relying party's request store and
// the cloud server's store: at most `limit` connections open; a caller waits for one;
// a connection that broke under a caller is closed, never lent again. Each new
// connection is handed to on_connect first (prepared statements).
//
// with_connection<Unavailable>(f) runs f on a lent connection and turns "PostgreSQL
// cannot be reached" and "the connection was lost" into the caller's own Unavailable
// error (the store's 503); an in_doubt_error at commit drops the connection and goes on
// to the caller, which alone knows how to find out whether its write landed.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <vector>

namespace idvault::postgres {

class ConnectionPool {
 public:
  using OnConnect = std::function<void(pqxx::connection&)>;

  ConnectionPool(std::string uri, std::size_t limit, OnConnect on_connect = {});
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ConnectionPool(ConnectionPool&&) = delete;
  ConnectionPool& operator=(ConnectionPool&&) = delete;
  ~ConnectionPool() = default;

  template <class Unavailable, class F>
  auto with_connection(F&& f) {
    std::optional<Lease> lease;
    try {
      lease.emplace(*this);
    } catch (const pqxx::broken_connection& e) {
      throw Unavailable(std::string("PostgreSQL cannot be reached: ") + e.what());
    }
    try {
      return f(**lease);
    } catch (const pqxx::broken_connection& e) {
      lease->drop();
      throw Unavailable(std::string("the connection to PostgreSQL was lost: ") + e.what());
    } catch (const pqxx::in_doubt_error&) {
      lease->drop();
      throw;
    }
  }

 private:
  // One connection lent to one caller, given back exactly once.
  class Lease {
   public:
    explicit Lease(ConnectionPool& pool) : pool_(pool), connection_(pool.take()) {}
    ~Lease() { pool_.give_back(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&&) = delete;
    Lease& operator=(Lease&&) = delete;
    pqxx::connection& operator*() { return *connection_; }
    void drop() { connection_.reset(); }

   private:
    ConnectionPool& pool_;
    std::unique_ptr<pqxx::connection> connection_;
  };

  std::unique_ptr<pqxx::connection> take();
  void give_back(std::unique_ptr<pqxx::connection> connection);

  std::string uri_;
  std::size_t limit_;
  OnConnect on_connect_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle and lent
};

// bytea through libpqxx 6.4's binarystring, both ways.
[[nodiscard]] std::vector<std::uint8_t> bytes_of(const pqxx::field& field);
[[nodiscard]] pqxx::binarystring bytea(std::span<const std::uint8_t> bytes);

}  // namespace idvault::postgres
