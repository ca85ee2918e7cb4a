// Pkcs11Error: the one error type of the PKCS#11 layer.
//
// Every failure names the Cryptoki function (or the step, e.g. "module load") and the
// token, and carries the CK_RV with its CKR_ name. kind() says what happened in terms a
// caller acts on; error_class() says what to do about it. Typed subclasses exist for the
// cases callers catch on their own (token gone, wrong PIN, PIN locked, ...).
// Messages never contain arguments: no PIN, no data, no key bytes.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

// What to do about an error.
enum class ErrorClass {
  retry,           // transient: the same call may succeed later
  reopen_session,  // the session is unusable; a fresh one may work
  relogin,         // the token forgot the login
  reinitialize,    // the module forgot C_Initialize: initialise it again, then log in again
  token_gone,      // removed, replaced or dead: drop everything bound to it
  user_error,      // bad input, wrong PIN, unsupported request: tell the user
  fatal,           // the module or token misbehaved
};

// What happened.
enum class ErrorKind {
  cryptoki,               // a Cryptoki call failed; see rv()
  token_gone,             // TokenGone
  pin_incorrect,          // PinIncorrect
  pin_locked,             // PinLocked
  final_try_refused,      // FinalTryRefused
  unsupported_mechanism,  // UnsupportedMechanism
  bad_uri,                // UriError
  module_load,            // ModuleLoadError
  token_not_found,        // TokenNotFound
  ambiguous_token,        // AmbiguousToken
  object_not_found,       // ObjectNotFound
  authentication_failed,  // AuthenticationFailed
  bad_argument,           // a caller passed something this layer refuses
};

// "CKR_PIN_INCORRECT", or "CKR_0x..." for codes without a name.
[[nodiscard]] std::string rv_name(CK_RV rv);
[[nodiscard]] ErrorClass classify(CK_RV rv) noexcept;
[[nodiscard]] std::string_view to_string(ErrorClass c) noexcept;

class Pkcs11Error : public std::runtime_error {
 public:
  // what(): "C_Login on token 'holder': CKR_PIN_INCORRECT" (+ ": detail" when given).
  Pkcs11Error(CK_RV rv, const std::string& function, const std::string& token,
              const std::string& detail = {});

  [[nodiscard]] CK_RV rv() const noexcept { return rv_; }
  [[nodiscard]] std::string rv_name() const { return p11::rv_name(rv_); }
  [[nodiscard]] const std::string& function() const noexcept { return function_; }
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] ErrorClass error_class() const noexcept { return class_; }

 protected:
  Pkcs11Error(ErrorKind kind, ErrorClass error_class, CK_RV rv, const std::string& function,
              const std::string& token, const std::string& message);

 private:
  ErrorKind kind_;
  ErrorClass class_;
  CK_RV rv_;
  std::string function_;
  std::string token_;
};

// The token was removed, replaced, or its slot vanished. Every session on it is gone.
class TokenGone : public Pkcs11Error {
 public:
  TokenGone(CK_RV rv, const std::string& function, const std::string& token);
};

// C_Login said CKR_PIN_INCORRECT, or we refused to resend a PIN the token rejected before.
class PinIncorrect : public Pkcs11Error {
 public:
  // tries_left: 1 when the token now reports CKF_USER_PIN_FINAL_TRY; count_low when it
  // reports CKF_USER_PIN_COUNT_LOW; tokens say no more than that.
  PinIncorrect(const std::string& token, std::optional<int> tries_left, bool count_low,
               bool resend_refused);
  [[nodiscard]] std::optional<int> tries_left() const noexcept { return tries_left_; }
  [[nodiscard]] bool count_low() const noexcept { return count_low_; }
  // True when C_Login was not called because this PIN was already rejected.
  [[nodiscard]] bool resend_refused() const noexcept { return resend_refused_; }

 private:
  std::optional<int> tries_left_;
  bool count_low_;
  bool resend_refused_;
};

// The user PIN is locked (token flag CKF_USER_PIN_LOCKED or CKR_PIN_LOCKED).
class PinLocked : public Pkcs11Error {
 public:
  explicit PinLocked(const std::string& token);
};

// The token is on its final PIN try and the caller did not allow spending it.
class FinalTryRefused : public Pkcs11Error {
 public:
  explicit FinalTryRefused(const std::string& token);
};

// The token cannot do what was asked: mechanism missing, or present but rejected the
// parameters (SoftHSM 2.6.1 and RSA-OAEP with SHA-256).
class UnsupportedMechanism : public Pkcs11Error {
 public:
  UnsupportedMechanism(const std::string& token, const std::string& what,
                       CK_RV rv = CKR_MECHANISM_INVALID,
                       const std::string& function = "C_GetMechanismInfo");
};

class UriError : public Pkcs11Error {
 public:
  UriError(const std::string& uri, const std::string& why);
};

class ModuleLoadError : public Pkcs11Error {
 public:
  ModuleLoadError(const std::string& path, const std::string& why,
                  CK_RV rv = CKR_LIBRARY_LOAD_FAILED);
};

class TokenNotFound : public Pkcs11Error {
 public:
  TokenNotFound(const std::string& uri, const std::string& module);
};

// Several tokens match a URI; candidates() holds each one's URI so the user can pick.
class AmbiguousToken : public Pkcs11Error {
 public:
  AmbiguousToken(const std::string& uri, std::vector<std::string> candidates);
  [[nodiscard]] const std::vector<std::string>& candidates() const noexcept { return candidates_; }

 private:
  std::vector<std::string> candidates_;
};

class ObjectNotFound : public Pkcs11Error {
 public:
  ObjectNotFound(const std::string& token, const std::string& what);
};

// An authenticated decryption (AES-GCM, key unwrap) rejected its input. Deliberately the
// same for every cause: the token's own code (SoftHSM says CKR_GENERAL_ERROR) is kept in
// rv() for diagnostics only.
class AuthenticationFailed : public Pkcs11Error {
 public:
  AuthenticationFailed(CK_RV rv, const std::string& function, const std::string& token);
};

class BadArgument : public Pkcs11Error {
 public:
  BadArgument(const std::string& function, const std::string& token, const std::string& why);
};

}  // namespace idvault::p11
