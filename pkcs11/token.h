// Token: one token in one slot of a module, for as long as it stays inserted.
//
// Owns the token's session pool, its probed capabilities and the login bookkeeping
// (rejected-PIN memory, login count). Obtained from Module::token_at() or, by URI, from
// resolve_token() (token_resolver.h); the same slot gives the same Token while it lives.
//
// Token-bound Cryptoki calls go through check(): on failure it asks the slot whether the
// token is still there; if not (or the code says so: CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT, CKR_SLOT_ID_INVALID, ...) it drops every pooled session, marks
// the token gone and throws TokenGone; otherwise Pkcs11Error.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "pkcs11/cryptoki.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/module.h"
#include "pkcs11/session_pool.h"
#include "pkcs11/token_info.h"

namespace idvault::p11 {

class Token : public std::enable_shared_from_this<Token> {
 public:
  // Reads the token's info. Throws TokenGone if the slot has no token.
  Token(std::shared_ptr<Module> module, CK_SLOT_ID slot);
  // Shared by everyone using the slot; a copy would split its pool and PIN memory.
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  Token(Token&&) = delete;
  Token& operator=(Token&&) = delete;
  ~Token();

  [[nodiscard]] const std::string& label() const noexcept { return label_; }
  [[nodiscard]] const std::string& serial() const noexcept { return serial_; }
  [[nodiscard]] const std::string& uri() const noexcept { return uri_; }
  [[nodiscard]] CK_SLOT_ID slot() const noexcept { return slot_; }
  [[nodiscard]] bool write_protected() const noexcept { return write_protected_; }
  [[nodiscard]] Module& module() const noexcept { return *module_; }
  [[nodiscard]] const std::shared_ptr<Module>& module_ptr() const noexcept { return module_; }

  // Fresh C_GetTokenInfo (flags change: PIN counters, login state).
  [[nodiscard]] TokenInfo info();
  [[nodiscard]] CK_TOKEN_INFO raw_info();

  // Still the same token in the slot (present, same serial and label)? Never throws.
  [[nodiscard]] bool present_in_slot() const noexcept;
  [[nodiscard]] bool gone() const noexcept { return gone_.load(std::memory_order_acquire); }

  [[nodiscard]] SessionPool& sessions() noexcept { return *pool_; }

  // --- Mechanisms ---------------------------------------------------------------------
  // Cached C_GetMechanismInfo: offered with all of `needed` flags?
  [[nodiscard]] bool offers(CK_MECHANISM_TYPE mechanism, CK_FLAGS needed);
  [[nodiscard]] bool key_size_ok(CK_MECHANISM_TYPE mechanism, CK_ULONG size);
  // Throws UnsupportedMechanism("<what> (<CKM name>)") unless offers(mechanism, needed).
  void require(CK_MECHANISM_TYPE mechanism, CK_FLAGS needed, std::string_view what);
  [[nodiscard]] Capabilities capabilities();
  void note_oaep_sha256_rejected() noexcept { oaep_sha256_rejected_.store(true); }
  [[nodiscard]] bool oaep_sha256_rejected() const noexcept { return oaep_sha256_rejected_.load(); }

  // --- Calls ----------------------------------------------------------------------------
  template <typename Fn, typename... Args>
  CK_RV call(Fn CK_FUNCTION_LIST::*fn, const char* name, Args... args) const {
    return module_->call(fn, name, args...);
  }
  template <typename Fn, typename... Args>
  void check(Fn CK_FUNCTION_LIST::*fn, const char* name, Args... args) {
    const CK_RV rv = module_->call(fn, name, args...);
    if (rv != CKR_OK) fail(name, rv);
  }
  // Throws TokenGone (after dropping the pool) or Pkcs11Error for rv.
  [[noreturn]] void fail(const char* function, CK_RV rv);
  // Throws TokenGone (after dropping the pool) if rv or the slot says the token has
  // gone; returns otherwise, so the caller can raise its own, more specific error.
  void raise_if_gone(const char* function, CK_RV rv);
  // Marks the token gone and drops every session. Idempotent.
  void mark_gone() noexcept;

  // --- Login bookkeeping (used by Login) ------------------------------------------------
  using PinDigest = std::array<std::uint8_t, 32>;
  // HMAC-SHA-256 under a per-token random key: equal PINs give equal digests, and the
  // digest alone does not let anyone brute-force a 4-digit PIN offline.
  [[nodiscard]] PinDigest pin_digest(const SecretBytes& pin) const;
  [[nodiscard]] bool pin_rejected_before(const PinDigest& digest) const;
  void remember_rejected_pin(const PinDigest& digest);
  void forget_rejected_pins();
  // Login counting: the token's login state is shared, so only the last Login logs out.
  void add_login();
  [[nodiscard]] bool drop_login();  // true when this was the last

 private:
  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_;
  std::string label_;
  std::string serial_;
  std::string uri_;
  bool write_protected_ = false;
  std::unique_ptr<SessionPool> pool_;
  std::atomic<bool> gone_{false};
  std::atomic<bool> oaep_sha256_rejected_{false};

  std::mutex mechanisms_mutex_;
  std::map<CK_MECHANISM_TYPE, std::optional<CK_MECHANISM_INFO>> mechanisms_;

  mutable std::mutex login_mutex_;
  SecretBytes pin_key_;
  std::set<PinDigest> rejected_pins_;
  int logins_ = 0;
};

}  // namespace idvault::p11
