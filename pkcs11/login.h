// Login: the user is logged in to a token for as long as this object lives.
//
// Before C_Login it reads the token flags: a locked PIN fails (PinLocked) without a
// try; a final try is refused (FinalTryRefused) unless the caller allows it. A PIN the
// token rejected once is remembered (as a keyed digest) and never sent again: the next
// login with it fails at once with PinIncorrect{resend_refused}. CKR_USER_ALREADY_LOGGED_IN
// counts as success.
//
// Login state belongs to the token and dies with its last session, so Login pins a
// session of its own. Destruction (lock) logs out when it is the token's last Login and
// drops every pooled session.
#pragma once

#include <memory>

#include "common/secret_bytes.h"
#include "pkcs11/session.h"

namespace idvault::p11 {

class Token;

struct LoginOptions {
  // Spend the token's last PIN try (CKF_USER_PIN_FINAL_TRY). Only on the user's explicit say.
  bool allow_final_try = false;
};

class Login {
 public:
  // Throws PinIncorrect (tries_left when the token reports them), PinLocked,
  // FinalTryRefused, BadArgument (empty PIN), TokenGone, Pkcs11Error.
  static Login open(std::shared_ptr<Token> token, const SecretBytes& pin,
                    LoginOptions options = {});

  // A copy would log out twice.
  Login(const Login&) = delete;
  Login& operator=(const Login&) = delete;
  Login(Login&& other) noexcept = default;
  Login& operator=(Login&&) = delete;
  // C_Logout (when last) and drop pooled sessions; errors swallowed.
  ~Login();

  [[nodiscard]] Token& token() const noexcept { return *token_; }
  // Logs out now; same as destruction.
  void close() noexcept;

 private:
  Login(std::shared_ptr<Token> token, Session pinned) noexcept;

  std::shared_ptr<Token> token_;
  Session pinned_;
};

}  // namespace idvault::p11
