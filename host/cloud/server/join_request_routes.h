// idvault-cloud's join requests (design.md, "Enrolment"): how a device that holds no key
// of an account yet asks to join it, and learns it was let in. The one unsigned write.
//
//   POST   /v1/accounts/A/join-requests     unsigned. Body {"device_id", "identity_key",
//          "slot_key", "nonce"} (keys base64 SPKI DER: EC P-256, RSA >= 2048; device_id
//          1-64 of [A-Za-z0-9._-]; nonce 32-64 lowercase hex), no other member. 201 {"id",
//          "expires"}: id is 32 random lowercase hex digits, expires Unix seconds. 400
//          malformed (with the reason); 404 no such account; 409 the device id or identity
//          key is in the account's log already; 429 + Retry-After when this client asked
//          too often, or the account has kMaxPendingJoinRequests unexpired requests.
//   GET    /v1/accounts/A/join-requests     signed by a device: 200 {"requests": [{"id",
//          "device_id", "identity_key", "slot_key", "nonce", "created", "expires"}]}, the
//          unexpired requests whose identity key the log does not enrol yet, oldest first.
//   GET    /v1/accounts/A/join-requests/ID  unsigned: 200 {"status": "pending" |
//          "approved"}: approved once the verified log holds a device-add for the
//          request's identity key (told until the request is purged, one TTL after it
//          expired); 404 unknown, or expired and not approved. Only the ID (128 random
//          bits, known to the joining device and the account's devices) reads it.
//   DELETE /v1/accounts/A/join-requests/ID  signed by a device: declines. 204 / 404.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "host/cloud/server/request_auth.h"
#include "host/cloud/store/cloud_store.h"
#include "host/http/message.h"
#include "host/http/request_rate_limiter.h"

namespace idvault::cloud {

inline constexpr std::size_t kMaxPendingJoinRequests = 16;
inline constexpr std::size_t kMaxJoinRequestBodyBytes = std::size_t{16} << 10;

struct JoinRequestOptions {
  std::chrono::seconds ttl{900};      // from the request to its expiry
  http::RequestRateLimit per_client;  // POSTs from one client address
};

class JoinRequestRoutes {
 public:
  JoinRequestRoutes(CloudStore& store, AccountStates& states, AuthClock clock,
                    JoinRequestOptions options);
  [[nodiscard]] http::Response submit(const http::Request& request, const std::string& account);
  [[nodiscard]] http::Response status(const std::string& account, const std::string& id);
  [[nodiscard]] http::Response pending(const std::string& account);
  [[nodiscard]] http::Response decline(const std::string& account, const std::string& id);
  // What the periodic chore drops: requests expired for longer than one TTL.
  std::size_t purge();

 private:
  CloudStore& store_;
  AccountStates& states_;
  AuthClock clock_;
  JoinRequestOptions options_;
  http::RequestRateLimiter per_client_;
};

}  // namespace idvault::cloud
