#include "pkcs11/login.h"

#include "pkcs11/error.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

[[noreturn]] void throw_pin_incorrect(Token& token) {
  std::optional<int> tries_left;
  bool count_low = false;
  try {
    const auto flags = token.info().flags;
    if ((flags & CKF_USER_PIN_LOCKED) != 0) throw PinLocked(token.label());
    if ((flags & CKF_USER_PIN_FINAL_TRY) != 0) tries_left = 1;
    count_low = (flags & CKF_USER_PIN_COUNT_LOW) != 0;
  } catch (const TokenGone&) {
    throw;
  } catch (const PinLocked&) {
    throw;
  } catch (const Pkcs11Error&) {
    // The PIN was wrong; not knowing the counter does not change that.
  }
  throw PinIncorrect(token.label(), tries_left, count_low, false);
}

}  // namespace

Login Login::open(std::shared_ptr<Token> token, const SecretBytes& pin, LoginOptions options) {
  if (pin.empty()) throw BadArgument("C_Login", token->label(), "empty PIN");
  const auto digest = token->pin_digest(pin);
  if (token->pin_rejected_before(digest))
    throw PinIncorrect(token->label(), std::nullopt, false, true);

  const auto flags = token->info().flags;
  if ((flags & CKF_USER_PIN_LOCKED) != 0) throw PinLocked(token->label());
  if ((flags & CKF_USER_PIN_FINAL_TRY) != 0 && !options.allow_final_try)
    throw FinalTryRefused(token->label());

  Session pinned = Session::open(*token);
  // The PIN goes to the token straight from its SecretBytes; no copy is made here.
  auto* pin_data = const_cast<CK_UTF8CHAR*>(pin.reveal().data());
  const CK_RV rv = token->call(IDVAULT_P11_FN(C_Login), pinned.handle(), CKU_USER, pin_data,
                               static_cast<CK_ULONG>(pin.size()));
  switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN:
      token->add_login();
      return Login(std::move(token), std::move(pinned));
    case CKR_PIN_INCORRECT:
      token->remember_rejected_pin(digest);
      throw_pin_incorrect(*token);
    case CKR_PIN_LOCKED:
      throw PinLocked(token->label());
    default:
      token->fail("C_Login", rv);
  }
}

Login::Login(std::shared_ptr<Token> token, Session pinned) noexcept
    : token_(std::move(token)), pinned_(std::move(pinned)) {}

Login::~Login() {
  close();
}

void Login::close() noexcept {
  if (token_ == nullptr) return;
  // A token marked gone took its login with it; a C_Logout now could only log out a
  // Login made since on the same token come back (a new Token object).
  if (token_->drop_login() && !token_->gone()) {
    (void)token_->call(IDVAULT_P11_FN(C_Logout), pinned_.handle());
    // Not C_CloseAllSessions: a stale Session owner could later close a handle number the
    // module has reused for someone else. The pool closes exactly what it opened.
    token_->sessions().invalidate();
  }
  pinned_.close();
  token_.reset();
}

}  // namespace idvault::p11
