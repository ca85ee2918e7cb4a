#include "pkcs11/session_pool.h"

#include <exception>
#include <utility>

#include "pkcs11/module.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

SessionLease::SessionLease(SessionPool& pool, Session session, std::uint64_t generation) noexcept
    : pool_(&pool),
      session_(std::move(session)),
      generation_(generation),
      uncaught_at_start_(std::uncaught_exceptions()) {}

SessionLease::SessionLease(SessionLease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      session_(std::move(other.session_)),
      generation_(other.generation_),
      uncaught_at_start_(other.uncaught_at_start_),
      healthy_(other.healthy_) {}

SessionLease::~SessionLease() {
  if (pool_ == nullptr) return;
  // Unwinding means the operation on this session threw part-way; whatever it left
  // pending (an active C_DecryptInit, an open find) must not reach the next user.
  const bool unwinding = std::uncaught_exceptions() > uncaught_at_start_;
  pool_->give_back(std::move(session_), generation_, healthy_ && !unwinding);
}

Token& SessionLease::token() const noexcept {
  return pool_->token_;
}

SessionPool::SessionPool(Token& token, CK_ULONG max_session_count)
    : token_(token),
      capacity_(max_session_count == CK_EFFECTIVELY_INFINITE ||
                        max_session_count == CK_UNAVAILABLE_INFORMATION
                    ? kDefaultBound
                    : static_cast<std::size_t>(max_session_count)) {}

SessionPool::~SessionPool() {
  invalidate();
}

SessionLease SessionPool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (token_.gone()) throw TokenGone(CKR_TOKEN_NOT_PRESENT, "C_OpenSession", token_.label());
    while (!idle_.empty()) {
      Session session = std::move(idle_.back());
      idle_.pop_back();
      const auto generation = generation_;
      lock.unlock();
      CK_SESSION_INFO info{};
      const CK_RV rv = token_.call(IDVAULT_P11_FN(C_GetSessionInfo), session.handle(), &info);
      if (rv == CKR_OK) return SessionLease(*this, std::move(session), generation);
      session.close();
      lock.lock();
      --open_;
      returned_.notify_one();
      // A dead session may mean a dead token: find out (and throw TokenGone) now.
      if (classify(rv) == ErrorClass::token_gone || !token_.present_in_slot()) {
        lock.unlock();
        token_.fail("C_GetSessionInfo", rv);
      }
    }
    if (open_ < capacity_) {
      ++open_;
      const auto generation = generation_;
      lock.unlock();
      try {
        return SessionLease(*this, Session::open(token_), generation);
      } catch (...) {
        lock.lock();
        --open_;
        returned_.notify_one();
        throw;
      }
    }
    returned_.wait(lock);
  }
}

void SessionPool::give_back(Session session, std::uint64_t generation, bool healthy) noexcept {
  std::unique_lock lock(mutex_);
  if (healthy && generation == generation_ && !token_.gone()) {
    idle_.push_back(std::move(session));
  } else {
    --open_;
    lock.unlock();
    session.close();
    lock.lock();
  }
  returned_.notify_one();
}

void SessionPool::invalidate() noexcept {
  std::vector<Session> closing;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    open_ -= idle_.size();
    closing.swap(idle_);
  }
  returned_.notify_all();
  closing.clear();  // closes outside the lock: C_CloseSession may be slow
}

std::size_t SessionPool::open_count() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t SessionPool::idle_count() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace idvault::p11
