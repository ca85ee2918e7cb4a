// once_more_on_a_fresh_session: for token operations that change nothing on the token
// (sign, decrypt, wrap or unwrap through a temporary session object).
//
// A token may drop a session under us (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED:
// a card reset, another process's C_CloseAllSessions) or briefly run out of them
// (CKR_SESSION_COUNT). That says nothing about the operation, and a session lease that
// unwinds from an exception closes its session, so a second try gets a fresh one. Run
// once more; a second failure, or any other error, is the caller's.
#pragma once

#include "pkcs11/error.h"

namespace idvault::p11 {

template <typename Operation>
auto once_more_on_a_fresh_session(Operation&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const Pkcs11Error& error) {
    const bool session_trouble = error.error_class() == ErrorClass::reopen_session ||
                                 error.error_class() == ErrorClass::retry;
    if (error.kind() != ErrorKind::cryptoki || !session_trouble) throw;
  }
  return operation();
}

}  // namespace idvault::p11
