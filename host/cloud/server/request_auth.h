// Who sent a request to idvault-cloud: the Idvault-Signature header
// (vault/account/request_signature.h) checked against the identity key of a device the
// account's verified log enrols, or against the key of a recovery slot it names (a
// recovery without any old device, which may then only read the log). The server trusts no device
// or key it did not verify itself: the log is read from the store and checked with AccountLog on
// first use, then only extended with the entries after the head it has (the state is cached per
// account by that head), so an entry appended by another server process is seen at the next
// request.
//
// Refusals: no header, a malformed one, an unknown device or account, a bad, stale,
// future or replayed signature, another method, path or body than signed: 401. A
// device revoked by the log that signed correctly: 403. A signature valid for one
// account on a path of another: 403 (the caller compares, see Authenticated::account).
// Nonces are remembered in the store (remember_nonce, keyed by account and device) for
// twice the allowed skew, so several server processes on one database share them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "host/cloud/store/cloud_store.h"
#include "host/http/message.h"
#include "vault/account/account_log.h"

namespace idvault::cloud {

// The verified state of each account's log, refreshed from the store on each call.
class AccountStates {
 public:
  explicit AccountStates(CloudStore& store) : store_(store) {}
  // The state the stored log proves now; nullopt for an account never created. Throws
  // vault::AccountLogError when the stored log does not verify (the store was altered),
  // StoreUnavailable as the store does.
  [[nodiscard]] std::shared_ptr<const vault::AccountState> current(const std::string& account);
  // Records the state after an append this process made.
  void remember(const std::shared_ptr<const vault::AccountState>& state);

 private:
  CloudStore& store_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const vault::AccountState>> states_;
};

struct Authenticated {
  std::string account;  // as the signature names it (the path must name the same)
  std::string device;   // or, for the recovery key, its slot's id
  // Signed PS256 by the key of a current recovery slot, not by a device: the caller lets
  // it read the account log and nothing else.
  bool recovery_key = false;
};

struct AuthResult {
  std::optional<Authenticated> who;  // set when the request may go on
  int status = 401;                  // otherwise: 401 or 403
  std::string message;
};

struct AuthClock {
  std::function<std::int64_t()> now;  // Unix seconds
  std::int64_t skew_seconds = 300;
};

// Checks request's signature against the device record `lookup` gives (the account's
// enrolled devices, or for POST /v1/accounts the genesis device) and remembers its nonce.
// body_sha256: the body's hash when the body is not in request.body (a file upload,
// authenticated from its head by the hash it was signed for before the body streams to
// disk; the caller then holds the body to that hash).
[[nodiscard]] AuthResult authenticate(const http::Request& request,
                                      const vault::AccountState& state, CloudStore& store,
                                      const AuthClock& clock,
                                      std::optional<std::string_view> body_sha256 = std::nullopt);

// For requests on an existing account: the account the header names, its state from
// states, then authenticate().
[[nodiscard]] AuthResult authenticate(const http::Request& request, AccountStates& states,
                                      CloudStore& store, const AuthClock& clock,
                                      std::optional<std::string_view> body_sha256 = std::nullopt);

}  // namespace idvault::cloud
