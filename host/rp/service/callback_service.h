// The relying party's web endpoints, behind http::Server:
//   GET  /            the demo page ("Share with idvault"); GET /demo.js its script
//   GET  /request     a fresh request: {"nonce", "link", "qr_svg"}; the nonce is stored
//                     with the SHA-256 of a read token that goes only to the asking page,
//                     as an HttpOnly, SameSite=Strict cookie idvault_read_<nonce>
//   POST /callback    a share bundle with the holder's receipt: decrypted on the HSM, its
//                     nonce claimed once (and not older than the configured age), the
//                     result stored; answers
//                     {"status":"accepted","nonce","errors": signed element errors | null}
//                     400 junk, undecryptable or without a receipt, 409 replay (or the
//                     same bundle being processed by another worker), 410 request
//                     expired (or never made here), 503 with Retry-After when every
//                     decryptor stayed busy past queue_timeout_ms or no token of the
//                     service key answered; an exact copy of a refused bundle gets the
//                     same refusal without another HSM operation
//   GET  /result?nonce=N   {"status":"pending"} or {"status":"received","report","errors"}
//   GET  /file?nonce=N&file_id=F   a decrypted file, for the page's thumbnails
// Results and files are stored sealed; a stored row that does not open (altered, moved)
// is answered 500 with that said, never with other bytes.
//   GET  /metrics     Prometheus text: the registry's families (service_metrics.h, and
//                     the HTTP layer's when the server shares the registry)
//   GET  /healthz     200 "ok" when the service's token answers, 503 otherwise
// /result and /file answer only the page holding the read token (403 otherwise; the
// nonce is public: it is in the link, the QR code and the bundle), and only until
// pickup_window_seconds after the page first read the result (410 after). The service
// keeps the result for its records until keep_seconds after it arrived, then purges it;
// unanswered requests are purged once they expire.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "host/http/message.h"
#include "host/http/metrics.h"
#include "host/rp/service/hsm_gate.h"
#include "host/rp/service/request_store.h"
#include "host/rp/service/result_sealer.h"
#include "host/rp/service/service_metrics.h"
#include "host/rp/share/received_share.h"
#include "host/rp/share/share_intake.h"
#include "vault/keys/keys.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::rp {

struct ServiceConfig {
  std::string public_url;  // how holders reach us, e.g. http://127.0.0.1:8080
  std::string scope_text =
      R"({"data":[{"type":"personal_details"},{"type":"passport","selfie":true},{"type":"email"}],"v":1})";
  std::string service_id = "idvault-rp-demo";
  std::int64_t nonce_max_age_seconds = 600;
  std::vector<vault::Bytes> trusted_verifiers;
  std::size_t decryptors = 4;  // HSM calls at once (each on its own session): hsm_gate.h
  // --queue-timeout-ms: how long a POST /callback waits for its turn at the HSM before it
  // is answered 503 with Retry-After (the HSM is saturated; the holder's app tries again).
  std::int64_t queue_timeout_ms = 10000;
  std::int64_t pickup_window_seconds = 300;   // the page reads result and files this long
  std::int64_t keep_seconds = 7 * 24 * 3600;  // --keep-days: results kept for the records
  // How long a bundle is leased to the worker decrypting it; a worker that dies holding
  // one (kill -9) blocks its copies this long, then another may take it over.
  std::int64_t bundle_lease_seconds = 30;
  std::function<std::int64_t()> clock;  // Unix seconds; unset: the system clock
  // Where the service counts (service_metrics.h) and what GET /metrics renders; share it
  // with the http::Server (ServerOptions::metrics) to add requests by route and status.
  // Unset: a registry of the service's own.
  http::MetricsRegistry* metrics = nullptr;
  // Whether the HSM answers, for GET /healthz (ServiceToken::answers); unset: always.
  std::function<bool()> healthy;
};

// The paths the service answers, for ServerOptions::metric_routes.
[[nodiscard]] std::set<std::string> service_routes();
// ServerOptions::handler_threads for this service: its decryptors plus 16. A POST
// /callback holds its handler thread while it waits for its turn at the HSM and while the
// HSM works, so with only `decryptors` threads a burst of bundles would keep the page's
// cheap requests (/result polls, /request, the page itself) waiting behind it; 16 more
// keep those flowing (and let callbacks do their database work beside the HSM calls), and
// more would only queue for the same HSM turns and the same store.
// The socket threads never wait on a handler (host/http/server.h), so slow clients hold
// no thread at all.
[[nodiscard]] unsigned handler_threads_for(const ServiceConfig& config) noexcept;

// What GET /request hands out: the link for the holder, the token for the asking page.
struct IssuedLink {
  std::string nonce;
  std::string link;
  std::string read_token;  // hex; only its SHA-256 is stored
};

class RelyingPartyService {
 public:
  // The keys, the sealer and the store must outlive the service. What arrives is stored
  // sealed by `sealer` (result_sealer.h) and opened by it when the page reads it.
  RelyingPartyService(const vault::ServiceKey& key, const vault::ErrorSigningKey& signer,
                      const ResultSealer& sealer, RequestStore& store, ServiceConfig config);
  ~RelyingPartyService();
  RelyingPartyService(const RelyingPartyService&) = delete;  // owns the decryptor pool
  RelyingPartyService& operator=(const RelyingPartyService&) = delete;

  // Never throws: every failure is an HTTP error response.
  [[nodiscard]] http::Response handle(const http::Request& request) noexcept;

  // A new request's nonce, link and read token (what GET /request answers).
  [[nodiscard]] IssuedLink new_request();
  // Drops expired requests and results past their retention (also done in passing by
  // handle(), at most once a minute).
  void purge_expired();

 private:
  struct Worker;
  class WorkerLease;
  http::Response request_json();
  http::Response metrics_text() const;
  http::Response health() const;
  http::Response callback(const http::Request& request);
  http::Response refuse_nonce(bool answered);
  http::Response result(const http::Request& request);
  http::Response file(const http::Request& request);
  // The request the caller may read, or the response refusing it.
  std::variant<IssuedRequest, http::Response> reader_of(const http::Request& request,
                                                        const std::string& nonce);
  std::int64_t now() const;
  void purge_in_passing() noexcept;

  const vault::ServiceKey& key_;
  const vault::ErrorSigningKey& signer_;
  const ResultSealer& sealer_;
  RequestStore& store_;
  ServiceConfig config_;
  std::unique_ptr<http::MetricsRegistry> own_registry_;  // when config_.metrics is unset
  ServiceMetrics metrics_;
  HsmGate hsm_gate_;               // at most config_.decryptors HSM calls at once
  MeteredServiceKey metered_key_;  // key_ and signer_, counted
  MeteredErrorSigningKey metered_signer_;
  std::string page_html_;  // the demo page, describing config_.scope_text
  std::mutex pool_mutex_;
  std::condition_variable pool_returned_;
  std::vector<std::unique_ptr<Worker>> idle_workers_;
  std::size_t workers_made_ = 0;
  std::atomic<std::int64_t> last_purge_{0};
};

}  // namespace idvault::rp
