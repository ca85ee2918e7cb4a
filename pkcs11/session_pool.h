// SessionPool: the sessions of one token, reused across operations.
//
// Bounded by the token's ulMaxSessionCount (a small default when the token says
// "effectively infinite" or "unavailable"); callers beyond the bound wait. An idle
// session is checked with C_GetSessionInfo before it is handed out again. A lease whose
// operation threw (or that was discard()ed) closes its session instead of returning it,
// because a half-finished operation may still be pending on it. invalidate() drops
// everything: idle sessions close now, leased ones close when returned. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "pkcs11/cryptoki.h"
#include "pkcs11/session.h"

namespace idvault::p11 {

class Token;
class SessionPool;

// Exclusive use of one pooled session for the lifetime of the lease.
class SessionLease {
 public:
  // One session, one user: a copy would let two threads run operations on it.
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;
  SessionLease(SessionLease&& other) noexcept;
  SessionLease& operator=(SessionLease&&) = delete;
  // Returns the session to the pool, or closes it if the lease is unwinding from an
  // exception, was discard()ed, or the pool was invalidated meanwhile.
  ~SessionLease();

  [[nodiscard]] CK_SESSION_HANDLE handle() const noexcept { return session_.handle(); }
  [[nodiscard]] Token& token() const noexcept;
  // The session's state is unknown (an operation failed half-way): do not reuse it.
  void discard() noexcept { healthy_ = false; }

 private:
  friend class SessionPool;
  SessionLease(SessionPool& pool, Session session, std::uint64_t generation) noexcept;

  SessionPool* pool_;
  Session session_;
  std::uint64_t generation_;
  int uncaught_at_start_;
  bool healthy_ = true;
};

class SessionPool {
 public:
  static constexpr std::size_t kDefaultBound = 8;

  SessionPool(Token& token, CK_ULONG max_session_count);
  // Owned by its Token; leases point back to it.
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;
  SessionPool(SessionPool&&) = delete;
  SessionPool& operator=(SessionPool&&) = delete;
  ~SessionPool();

  // An idle validated session, a new one, or (at the bound) waits for a return.
  // Throws TokenGone once the token has gone.
  [[nodiscard]] SessionLease acquire();

  // Closes idle sessions now and makes leased ones close on return.
  void invalidate() noexcept;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t open_count() const;
  [[nodiscard]] std::size_t idle_count() const;

 private:
  friend class SessionLease;
  void give_back(Session session, std::uint64_t generation, bool healthy) noexcept;

  Token& token_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Session> idle_;
  std::size_t open_ = 0;
  std::uint64_t generation_ = 0;
};

}  // namespace idvault::p11
