#include "pkcs11/session.h"

#include <utility>

#include "pkcs11/module.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

Session Session::open(Token& token) {
  CK_FLAGS flags = CKF_SERIAL_SESSION;
  if (!token.write_protected()) flags |= CKF_RW_SESSION;
  CK_SESSION_HANDLE handle = 0;
  token.check(IDVAULT_P11_FN(C_OpenSession), token.slot(), flags, nullptr, nullptr, &handle);
  return Session(token.module_ptr(), handle);
}

Session::Session(Session&& other) noexcept
    : module_(std::move(other.module_)), handle_(std::exchange(other.handle_, 0)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    close();
    module_ = std::move(other.module_);
    handle_ = std::exchange(other.handle_, 0);
  }
  return *this;
}

Session::~Session() {
  close();
}

void Session::close() noexcept {
  if (module_ == nullptr) return;
  // Ignored on purpose: after removal or C_Logout the handle may already be dead, and
  // there is nothing a caller could do about a failed close.
  (void)module_->call(IDVAULT_P11_FN(C_CloseSession), handle_);
  module_.reset();
  handle_ = 0;
}

}  // namespace idvault::p11
