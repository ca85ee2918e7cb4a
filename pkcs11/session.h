// Session: one open Cryptoki session (C_OpenSession .. C_CloseSession).
#pragma once

#include <memory>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

class Module;
class Token;

class Session {
 public:
  // Opens a serial session on token's slot; read-write unless the token is write
  // protected. May throw Pkcs11Error / TokenGone (CKR_* of C_OpenSession).
  static Session open(Token& token);

  Session() = default;
  // One handle, one owner: a copy would close the session under the other copy.
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  // C_CloseSession; errors (the token may be gone) are swallowed.
  ~Session();

  [[nodiscard]] CK_SESSION_HANDLE handle() const noexcept { return handle_; }
  [[nodiscard]] bool is_open() const noexcept { return module_ != nullptr; }
  // Closes now; same as destruction.
  void close() noexcept;

 private:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle) noexcept
      : module_(std::move(module)), handle_(handle) {}

  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_ = 0;
};

}  // namespace idvault::p11
