#include "pkcs11/error.h"

#include <array>
#include <cstdio>
#include <utility>

namespace idvault::p11 {

namespace {

struct RvName {
  CK_RV rv;
  std::string_view name;
};

// Every CKR_ code p11-kit's header knows.
constexpr auto kRvNames = std::to_array<RvName>({
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_NO_EVENT, "CKR_NO_EVENT"},
    {CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS"},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED"},
    {CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED"},
    {CKR_KEY_CHANGED, "CKR_KEY_CHANGED"},
    {CKR_KEY_NEEDED, "CKR_KEY_NEEDED"},
    {CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS"},
    {CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS"},
    {CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE"},
    {CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    {CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES"},
    {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
    {CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE"},
    {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    {CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE"},
    {CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID"},
    {CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE"},
    {CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_MUTEX_BAD, "CKR_MUTEX_BAD"},
    {CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED"},
    {CKR_NEW_PIN_MODE, "CKR_NEW_PIN_MODE"},
    {CKR_NEXT_OTP, "CKR_NEXT_OTP"},
    {CKR_EXCEEDED_MAX_ITERATIONS, "CKR_EXCEEDED_MAX_ITERATIONS"},
    {CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED"},
    {CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
    {CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID"},
    {CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED"},
});

std::string describe(const std::string& function, const std::string& token,
                     const std::string& rest) {
  std::string out = function;
  if (!token.empty()) out += " on token '" + token + "'";
  return out + ": " + rest;
}

}  // namespace

std::string rv_name(CK_RV rv) {
  for (const auto& entry : kRvNames) {
    if (entry.rv == rv) return std::string(entry.name);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR_0x%lX", static_cast<unsigned long>(rv));
  return buf;
}

ErrorClass classify(CK_RV rv) noexcept {
  switch (rv) {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:
    case CKR_TOKEN_NOT_RECOGNIZED:
      return ErrorClass::token_gone;
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_OPERATION_ACTIVE:
    case CKR_OPERATION_NOT_INITIALIZED:
      return ErrorClass::reopen_session;
    case CKR_USER_NOT_LOGGED_IN:
      return ErrorClass::relogin;
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return ErrorClass::reinitialize;
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_MEMORY:
    case CKR_SESSION_COUNT:
    case CKR_FUNCTION_CANCELED:
    case CKR_CANT_LOCK:
      return ErrorClass::retry;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_USER_TYPE_INVALID:
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
    case CKR_ARGUMENTS_BAD:
    case CKR_ATTRIBUTE_READ_ONLY:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_ACTION_PROHIBITED:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_KEY_SIZE_RANGE:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_NOT_WRAPPABLE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_SESSION_READ_ONLY:
    case CKR_SIGNATURE_INVALID:
    case CKR_SIGNATURE_LEN_RANGE:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_UNWRAPPING_KEY_SIZE_RANGE:
    case CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT:
    case CKR_WRAPPED_KEY_INVALID:
    case CKR_WRAPPED_KEY_LEN_RANGE:
    case CKR_WRAPPING_KEY_HANDLE_INVALID:
    case CKR_WRAPPING_KEY_SIZE_RANGE:
    case CKR_WRAPPING_KEY_TYPE_INCONSISTENT:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_PIN_TOO_WEAK:
    case CKR_PUBLIC_KEY_INVALID:
    case CKR_FUNCTION_REJECTED:
    case CKR_RANDOM_NO_RNG:
      return ErrorClass::user_error;
    default:
      return ErrorClass::fatal;
  }
}

std::string_view to_string(ErrorClass c) noexcept {
  switch (c) {
    case ErrorClass::retry:
      return "retry";
    case ErrorClass::reopen_session:
      return "reopen_session";
    case ErrorClass::relogin:
      return "relogin";
    case ErrorClass::reinitialize:
      return "reinitialize";
    case ErrorClass::token_gone:
      return "token_gone";
    case ErrorClass::user_error:
      return "user_error";
    case ErrorClass::fatal:
      return "fatal";
  }
  return "fatal";
}

Pkcs11Error::Pkcs11Error(CK_RV rv, const std::string& function, const std::string& token,
                         const std::string& detail)
    : Pkcs11Error(
          ErrorKind::cryptoki, classify(rv), rv, function, token,
          describe(function, token, p11::rv_name(rv) + (detail.empty() ? "" : ": " + detail))) {}

Pkcs11Error::Pkcs11Error(ErrorKind kind, ErrorClass error_class, CK_RV rv,
                         const std::string& function, const std::string& token,
                         const std::string& message)
    : std::runtime_error(message),
      kind_(kind),
      class_(error_class),
      rv_(rv),
      function_(function),
      token_(token) {}

TokenGone::TokenGone(CK_RV rv, const std::string& function, const std::string& token)
    : Pkcs11Error(ErrorKind::token_gone, ErrorClass::token_gone, rv, function, token,
                  describe(function, token,
                           p11::rv_name(rv) + ": the token was removed or is no longer present")) {}

namespace {
std::string pin_incorrect_message(std::optional<int> tries_left, bool count_low,
                                  bool resend_refused) {
  std::string msg =
      resend_refused
          ? "CKR_PIN_INCORRECT: this PIN was already rejected by the token; not sending it again"
          : "CKR_PIN_INCORRECT: wrong PIN";
  if (tries_left) {
    msg += " (tries left: " + std::to_string(*tries_left) + ")";
  } else if (count_low) {
    msg += " (few tries left)";
  }
  return msg;
}
}  // namespace

PinIncorrect::PinIncorrect(const std::string& token, std::optional<int> tries_left, bool count_low,
                           bool resend_refused)
    : Pkcs11Error(
          ErrorKind::pin_incorrect, ErrorClass::user_error, CKR_PIN_INCORRECT, "C_Login", token,
          describe("C_Login", token, pin_incorrect_message(tries_left, count_low, resend_refused))),
      tries_left_(tries_left),
      count_low_(count_low),
      resend_refused_(resend_refused) {}

PinLocked::PinLocked(const std::string& token)
    : Pkcs11Error(ErrorKind::pin_locked, ErrorClass::user_error, CKR_PIN_LOCKED, "C_Login", token,
                  describe("C_Login", token,
                           "CKR_PIN_LOCKED: the user PIN is locked; unblock it with the SO PIN")) {}

FinalTryRefused::FinalTryRefused(const std::string& token)
    : Pkcs11Error(
          ErrorKind::final_try_refused, ErrorClass::user_error, CKR_OK, "C_Login", token,
          describe("C_Login", token,
                   "not attempted: the token is on its final PIN try (CKF_USER_PIN_FINAL_TRY); "
                   "a wrong PIN now locks it, so the caller must allow the final try explicitly")) {
}

UnsupportedMechanism::UnsupportedMechanism(const std::string& token, const std::string& what,
                                           CK_RV rv, const std::string& function)
    : Pkcs11Error(
          ErrorKind::unsupported_mechanism, ErrorClass::user_error, rv, function, token,
          describe(function, token, "unsupported: " + what + " (" + p11::rv_name(rv) + ")")) {}

UriError::UriError(const std::string& uri, const std::string& why)
    : Pkcs11Error(ErrorKind::bad_uri, ErrorClass::user_error, CKR_ARGUMENTS_BAD, "URI", "",
                  "invalid PKCS#11 URI '" + uri + "': " + why) {}

ModuleLoadError::ModuleLoadError(const std::string& path, const std::string& why, CK_RV rv)
    : Pkcs11Error(ErrorKind::module_load, ErrorClass::user_error, rv, "module load", "",
                  "cannot load PKCS#11 module '" + path + "': " + why) {}

TokenNotFound::TokenNotFound(const std::string& uri, const std::string& module)
    : Pkcs11Error(ErrorKind::token_not_found, ErrorClass::user_error, CKR_TOKEN_NOT_PRESENT,
                  "token lookup", "",
                  "no token matching '" + uri + "' is present in module '" + module + "'") {}

namespace {
std::string ambiguous_message(const std::string& uri, const std::vector<std::string>& candidates) {
  std::string msg = std::to_string(candidates.size()) + " tokens match '" + uri + "'; name one of:";
  for (const auto& c : candidates) msg += "\n  " + c;
  return msg;
}
}  // namespace

AmbiguousToken::AmbiguousToken(const std::string& uri, std::vector<std::string> candidates)
    : Pkcs11Error(ErrorKind::ambiguous_token, ErrorClass::user_error, CKR_OK, "token lookup", "",
                  ambiguous_message(uri, candidates)),
      candidates_(std::move(candidates)) {}

ObjectNotFound::ObjectNotFound(const std::string& token, const std::string& what)
    : Pkcs11Error(ErrorKind::object_not_found, ErrorClass::user_error, CKR_OK, "C_FindObjects",
                  token, describe("C_FindObjects", token, "no object matches " + what)) {}

AuthenticationFailed::AuthenticationFailed(CK_RV rv, const std::string& function,
                                           const std::string& token)
    : Pkcs11Error(
          ErrorKind::authentication_failed, ErrorClass::user_error, rv, function, token,
          describe(function, token,
                   "authentication failed: the ciphertext was altered or made under another key")) {
}

BadArgument::BadArgument(const std::string& function, const std::string& token,
                         const std::string& why)
    : Pkcs11Error(ErrorKind::bad_argument, ErrorClass::user_error, CKR_ARGUMENTS_BAD, function,
                  token, describe(function, token, why)) {}

}  // namespace idvault::p11
