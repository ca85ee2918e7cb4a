// idvault-cloud's REST routes. Every route but POST /v1/accounts, /healthz, /metrics and
// the few a device reaches before it holds a key of the account (POST and GET /ID of
// join-requests, GET recovery-key, a recovery-signed log entry) is signed (request_auth.h: 401
// unsigned, bad, stale, replayed or unknown; 403 a revoked device, or an account in the path other
// than the one the signature names). ACCOUNT is the account id (lowercase hex SHA-256 of its
// genesis entry); ITEM and SLOT are printable ASCII without spaces (1..256 bytes); SHA256 is 64
// lowercase hex digits. Bodies are raw bytes (application/octet-stream) for items, slots and files,
// the entry itself for the log; answers are JSON unless they are such bytes.
//
//   POST /v1/accounts                 body: the genesis entry. Signed by the genesis
//                                     device's identity key, naming as account the entry's
//                                     hash. 201 {"account"}; 409 exists; 400 not a genesis.
//   GET  /v1/accounts/A/log?from=N    200 {"from": N, "length": L, "entries": [entry text]}
//                                     (entries kept byte for byte: verify them as sent).
//   POST /v1/accounts/A/log           body: one entry, which must extend the verified log
//                                     (AccountLog::extend: what a client would refuse, the
//                                     server refuses: 400 with the reason). 201 {"seq",
//                                     "hash"}; 409 {"length"} when its seq is not the log's
//                                     length (another entry got there first: re-read).
//                                     Without an Idvault-Signature header, only an entry
//                                     signed PS256 by a current recovery slot's key (a
//                                     recovery has no device yet); any other: 401.
//   GET  /v1/accounts/A/slots         200 {"slots": [{"id", "bytes": base64}]}
//   PUT  /v1/accounts/A/slots/SLOT    body: VK sealed to the slot's key. Only a slot the
//                                     verified log names (404 otherwise), only as many
//                                     bytes as its RSA key's modulus (400 otherwise).
//                                     200 {"slot"}; GET: 200 bytes / 404; DELETE: 204 / 404.
//   PUT  /v1/accounts/A/recovery-key  body: the recovery key envelope (the recovery private
//                                     key sealed under the recovery code; opaque here), at
//                                     most 16 KiB. 204. GET, unsigned (a recovery has no
//                                     device; the envelope opens only with the code): 200
//                                     bytes / 404.
//   .../A/join-requests[/ID]          join_request_routes.h: POST and GET /ID unsigned.
//   PUT  /v1/accounts/A/items/ITEM    With If-Match: "REV" (the revision the write is based
//                                     on) or If-None-Match: * (a first write); neither: 428.
//                                     200 {"revision"} and ETag: "NEW" (the server's
//                                     revision: SHA-256 of parent and bytes, 32 hex digits,
//                                     so a client can tell its own retried write landed);
//                                     409 {"current_revision", "deleted"} (with its ETag)
//                                     when the item's revision is another one.
//   GET  /v1/accounts/A/items/ITEM    200 bytes + ETag; 410 {"revision"} + ETag for a
//                                     tombstone (write on top of it with If-Match); 404.
//   DELETE /v1/accounts/A/items/ITEM  If-Match required (428); body: the tombstone's bytes
//                                     (may be empty). 200 {"revision"} + ETag; 409 stale.
//   PUT  /v1/accounts/A/files/SHA256  body: the ciphertext. 201 stored, 200 already there
//                                     (idempotent); 400 when its SHA-256 is not SHA256.
//   GET  /v1/accounts/A/files/SHA256  200 bytes / 404.
//   GET  /v1/accounts/A/changes?since=N[&wait=S]
//                                     200 {"changes": [{"kind", "id", "counter"}],
//                                     "counter": last listed or N}. With wait (seconds, at
//                                     most 60): when nothing changed after N, the answer
//                                     waits until something does (the push channel) or S
//                                     passes (then "changes" is empty).
//   GET  /healthz                     200 {"ok": true}; 503 when the store does not answer.
//   GET  /metrics                     Prometheus text: idvault_cloud_requests_total{route,
//                                     status} (route: the pattern above) and the server's.
//
// Errors: {"error": "..."}. 400 bad id or body; 404 no such route or thing; 413 a body
// over the route's limit (files 64 MiB, anything else 1 MiB); 507 a write that would take
// the account past its quota (the account is full, not the request too large); 503 with
// Retry-After when the store is unavailable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "host/cloud/server/change_notifier.h"
#include "host/cloud/server/join_request_routes.h"
#include "host/cloud/server/request_auth.h"
#include "host/cloud/store/cloud_store.h"
#include "host/http/message.h"
#include "host/http/metrics.h"
#include "host/http/server.h"

namespace idvault::cloud {

inline constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxSmallBodyBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxRecoveryKeyBytes = std::size_t{16} << 10;

struct CloudServiceOptions {
  AuthClock clock;
  std::chrono::seconds max_wait{60};
  // How often a long poll asks the store even when this process saw no write (writes by
  // other processes on the same PostgreSQL).
  std::chrono::milliseconds recheck{1000};
  http::MetricsRegistry* metrics = nullptr;  // outlives the service
  JoinRequestOptions join;
};

class CloudService {
 public:
  CloudService(CloudStore& store, CloudServiceOptions options);
  [[nodiscard]] http::Response handle(const http::Request& request);
  // For http::ServerOptions::plan_body: a file upload (PUT .../files/SHA256) is checked
  // from its head before any byte of its body is read (the name, the length against the
  // file limit and the account's quota, the signature by the body hash it names: the same
  // refusals handle() would give) and then streams to disk while it is hashed (a file
  // already stored is only hashed); handle() finishes it from Request::body_sink. Any
  // other body is read into memory.
  [[nodiscard]] http::BodyPlan plan_body(const http::Request& head, std::uint64_t length);
  // Long polls answer at once from now on (before the server stops).
  void shutdown() { notifier_.shutdown(); }
  // The periodic chore: drops what has lapsed (join requests one TTL after they expired).
  std::size_t purge_expired();
  // The paths the HTTP server counts as themselves in its own metrics.
  [[nodiscard]] static std::set<std::string> fixed_routes();

 private:
  struct Route;
  http::Response dispatch(const http::Request& request, Route& route);
  // The answer for the exception being handled (inside a catch); rethrows what it does
  // not know (the server answers 500).
  static http::Response failure_answer();
  void count(const Route& route, int status);
  http::BodyPlan start_upload(const http::Request& head, std::uint64_t length, const Route& route);
  http::Response finish_upload(const http::Request& request, const std::string& account,
                               const std::string& sha256);
  http::Response create_account(const http::Request& request);
  http::Response account_route(const http::Request& request, Route& route);
  // One entry onto the log; unsigned_request: posted without a device's signature, so
  // taken only when the recovery key signed it.
  http::Response append_log(const http::Request& request, const std::string& account,
                            bool unsigned_request);

  CloudStore& store_;
  CloudServiceOptions options_;
  AccountStates states_;
  ChangeNotifier notifier_;
  JoinRequestRoutes join_;
};

}  // namespace idvault::cloud
