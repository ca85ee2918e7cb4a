// The relying party's web endpoints, behind HttpServer:
//   GET  /            the demo page ("Share with idvault"); GET /demo.js its script
//   GET  /request     a fresh request: {"nonce", "link", "qr_svg"}; the nonce is stored
//   POST /callback    a share bundle: decrypted on the HSM, its nonce claimed once (and
//                     not older than the configured age), the result stored; answers
//                     {"status":"accepted","nonce","errors": signed element errors | null}
//                     400 junk or undecryptable, 409 replay, 410 nonce expired
//   GET  /result?nonce=N   {"status":"pending"} or {"status":"received","report","errors"}
//   GET  /file?nonce=N&file_id=F   a decrypted file, for the page's thumbnails
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/rp/http_message.h"
#include "host/rp/received_share.h"
#include "host/rp/request_store.h"
#include "host/rp/share_intake.h"
#include "vault/element_error_signature.h"
#include "vault/keys.h"

namespace idvault::rp {

struct ServiceConfig {
  std::string public_url;  // how holders reach us, e.g. http://127.0.0.1:8080
  std::string scope_text =
      R"({"data":[{"type":"personal_details"},{"type":"passport","selfie":true},{"type":"email"}],"v":1})";
  std::string service_id = "idvault-rp-demo";
  std::int64_t nonce_max_age_seconds = 600;
  std::vector<vault::Bytes> trusted_verifiers;
  std::size_t decryptors = 4;  // shares decrypted at once (each its own HSM session)
};

class RelyingPartyService {
 public:
  // The keys and the store must outlive the service.
  RelyingPartyService(const vault::ServiceKey& key, const vault::ErrorSigningKey& signer,
                      RequestStore& store, ServiceConfig config);
  ~RelyingPartyService();
  RelyingPartyService(const RelyingPartyService&) = delete;  // owns the decryptor pool
  RelyingPartyService& operator=(const RelyingPartyService&) = delete;

  // Never throws: every failure is an HTTP error response.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) noexcept;

  // A new request's nonce and link (what GET /request answers).
  [[nodiscard]] std::pair<std::string, std::string> new_request();

 private:
  struct Worker;
  class WorkerLease;
  HttpResponse request_json();
  HttpResponse callback(const HttpRequest& request);
  HttpResponse result(const HttpRequest& request);
  HttpResponse file(const HttpRequest& request);

  const vault::ServiceKey& key_;
  const vault::ErrorSigningKey& signer_;
  RequestStore& store_;
  ServiceConfig config_;
  std::mutex pool_mutex_;
  std::condition_variable pool_returned_;
  std::vector<std::unique_ptr<Worker>> idle_workers_;
  std::size_t workers_made_ = 0;
};

}  // namespace idvault::rp
