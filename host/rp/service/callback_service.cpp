#include "host/rp/service/callback_service.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>

#include "common/base64.h"
#include "common/hex.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/demo_page/demo_page.h"
#include "host/rp/service/known_account_log.h"
#include "host/rp/service/qr_svg.h"
#include "host/rp/share/automatic_errors.h"
#include "host/rp/share/file_kind.h"
#include "pkcs11/error.h"
#include "vault/model/auth_link.h"
#include "vault/model/errors.h"
#include "vault/model/scope_description.h"
#include "vault/signed/signed_statement.h"

namespace idvault::rp {

struct RelyingPartyService::Worker {
  explicit Worker(const vault::ServiceKey& key) : intake(key) {}
  ShareReader reader;
  ShareIntake intake;
};

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

namespace {
// Every decryptor stayed busy for the whole queue timeout.
}  // namespace

// Exclusive use of one pooled worker (a reader and an intake, whose buffers are reused):
// as many as there are handler threads, so a callback only waits for its turn at the HSM
// (hsm_gate.h), not for a worker; the queue timeout still bounds the wait.
class RelyingPartyService::WorkerLease {
 public:
  explicit WorkerLease(RelyingPartyService& service) : service_(service) {
    const auto asked = std::chrono::steady_clock::now();
    std::unique_lock lock(service_.pool_mutex_);
    const bool free = service_.pool_returned_.wait_until(
        lock, asked + std::chrono::milliseconds(service_.config_.queue_timeout_ms), [&] {
          return !service_.idle_workers_.empty() ||
                 service_.workers_made_ < handler_threads_for(service_.config_);
        });
    if (!free) throw DecryptorsBusy();
    if (!service_.idle_workers_.empty()) {
      worker_ = std::move(service_.idle_workers_.back());
      service_.idle_workers_.pop_back();
    } else {
      ++service_.workers_made_;
      lock.unlock();
      try {
        worker_ = std::make_unique<Worker>(service_.metered_key_);
      } catch (...) {
        std::lock_guard relock(service_.pool_mutex_);
        --service_.workers_made_;
        service_.pool_returned_.notify_one();
        throw;
      }
    }
  }
  WorkerLease(const WorkerLease&) = delete;  // one holder per worker
  WorkerLease& operator=(const WorkerLease&) = delete;
  ~WorkerLease() {
    worker_->intake.wipe();  // plaintext does not outlive the request
    std::lock_guard lock(service_.pool_mutex_);
    service_.idle_workers_.push_back(std::move(worker_));
    service_.pool_returned_.notify_one();
  }
  Worker* operator->() const noexcept { return worker_.get(); }

 private:
  RelyingPartyService& service_;
  std::unique_ptr<Worker> worker_;
};

namespace {

// Expired requests are purged, so an unknown nonce is most likely an expired one.
constexpr const char* kNoSuchRequest =
    "unknown nonce: the request expired or was never made here; ask for a new one";
constexpr std::int64_t kPurgeInterval = 60;  // seconds between purges done in passing

std::string random_hex32(const char* what) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    throw std::runtime_error(std::string("no randomness for a ") + what);
  return hex_lower(bytes);
}

std::string read_token_digest(std::string_view token) {
  return vault::sha256_hex(vault::bytes_of(token));
}

std::string read_cookie_name(const std::string& nonce) {
  return "idvault_read_" + nonce;
}

// The value of one cookie in the Cookie header ("a=1; b=2"), or "".
std::string cookie_value(const http::Request& request, const std::string& name) {
  const std::string header = request.header("cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name)
      return std::string(pair.substr(equals + 1));
  }
  return {};
}

// Equal digests, compared in constant time (the stored one is never empty when it counts).
bool same_digest(const std::string& presented, const std::string& stored) {
  return !stored.empty() && presented.size() == stored.size() &&
         CRYPTO_memcmp(presented.data(), stored.data(), stored.size()) == 0;
}

// The bundle's key in the store: the SHA-256 of its encrypted credentials as decoded
// bytes, data, hash and secret in that order, each after its length (8 bytes, big
// endian) so no two splits of the same bytes meet. The credentials are what the HSM is
// asked about (the RSA step unwraps credentials.secret) and they fix the nonce, so every
// copy that would cost the same HSM operation has the same key, whatever else a copy
// carries. Decoded rather than as sent, so two spellings of the same base64 are one
// bundle. A copy with other elements or another receipt shares the key; body_sha256 (the
// whole POST body) keeps a refusal of one from being replayed to the other.
BundleKey bundle_key(const ReceivedShare& share, std::string_view body) {
  const auto& credentials = share.passport_data.credentials;
  std::vector<std::uint8_t> framed;
  const auto append = [&](const std::string& text, const char* where) {
    const auto bytes = base64_decode(text, where);
    for (int shift = 56; shift >= 0; shift -= 8)
      framed.push_back(static_cast<std::uint8_t>(std::uint64_t{bytes.size()} >> shift));
    framed.insert(framed.end(), bytes.begin(), bytes.end());
  };
  append(credentials.data, "credentials.data");
  append(credentials.hash, "credentials.hash");
  append(credentials.secret, "credentials.secret");
  return {vault::sha256_hex(framed), vault::sha256_hex(vault::bytes_of(body))};
}

// The lease on one bundle for the length of a callback: settled with a refusal, settled
// with the claim, or given back when the attempt ends otherwise (the HSM or the database
// failed for a moment, an exception), so a retry may try at once.
class BundleHold {
 public:
  BundleHold(RequestStore& store, BundleKey key) : store_(store), key_(std::move(key)) {}
  BundleHold(const BundleHold&) = delete;
  BundleHold& operator=(const BundleHold&) = delete;
  BundleHold(BundleHold&&) = delete;
  BundleHold& operator=(BundleHold&&) = delete;
  ~BundleHold() {
    if (open_) {
      try {
        store_.release_bundle(key_);
      } catch (const std::exception&) {
        // The lease runs out by itself.
      }
    }
  }
  const BundleKey& key() const noexcept { return key_; }
  void claimed() noexcept { open_ = false; }
  // Records the refusal for exact copies; a store that fails here costs the answer
  // nothing (the lease runs out and a copy is decrypted again).
  http::Response refuse(http::Response answer) noexcept {
    open_ = false;
    try {
      store_.settle_bundle(key_, BundleOutcome{answer.status, answer.body});
    } catch (const std::exception&) {
    }
    return answer;
  }

 private:
  RequestStore& store_;
  BundleKey key_;
  bool open_ = true;
};

// Each decrypted file, sealed under the result's data key.
void collect_files(const vault::DecryptedPassport& passport, const ResultSealer::Sealing& sealing,
                   std::vector<StoredFile>& out) {
  const auto keep = [&](const vault::DecryptedFile& file) {
    if (!file.missing())
      out.push_back({file.file_id, sealing.seal(file_part(file.file_id), *file.plaintext)});
  };
  for (const auto& element : passport.elements) {
    for (const auto* slot : {&element.front_side, &element.reverse_side, &element.selfie}) {
      if (*slot) keep(**slot);
    }
    for (const auto& file : element.files) keep(file);
    for (const auto& file : element.translation) keep(file);
  }
}

}  // namespace

RelyingPartyService::RelyingPartyService(const vault::ServiceKey& key,
                                         const vault::ErrorSigningKey& signer,
                                         const ResultSealer& sealer, RequestStore& store,
                                         ServiceConfig config)
    : key_(key),
      signer_(signer),
      sealer_(sealer),
      store_(store),
      config_(std::move(config)),
      own_registry_(config_.metrics ? nullptr : std::make_unique<http::MetricsRegistry>()),
      metrics_(config_.metrics ? *config_.metrics : *own_registry_),
      hsm_gate_(config_.decryptors, std::chrono::milliseconds(config_.queue_timeout_ms), metrics_),
      metered_key_(key_, metrics_, hsm_gate_),
      metered_signer_(signer_, metrics_, hsm_gate_) {
  if (config_.decryptors == 0) config_.decryptors = 1;
  if (config_.queue_timeout_ms < 1) config_.queue_timeout_ms = 1;
  // A bad scope fails at start, not per request.
  page_html_ = demo_page_html(vault::describe_scope(vault::parse_scope(config_.scope_text)));
  if (!config_.clock) config_.clock = unix_now;
}

RelyingPartyService::~RelyingPartyService() = default;

std::int64_t RelyingPartyService::now() const {
  return config_.clock();
}

void RelyingPartyService::purge_expired() {
  const std::int64_t at = now();
  last_purge_ = at;
  (void)store_.purge(at, RetentionPolicy{config_.nonce_max_age_seconds, config_.keep_seconds});
}

// One request in a minute does the purge; a failed purge costs no request its answer.
void RelyingPartyService::purge_in_passing() noexcept {
  const std::int64_t at = now();
  std::int64_t last = last_purge_.load();
  if (at - last < kPurgeInterval || !last_purge_.compare_exchange_strong(last, at)) return;
  try {
    (void)store_.purge(at, RetentionPolicy{config_.nonce_max_age_seconds, config_.keep_seconds});
  } catch (const std::exception&) {
    last_purge_ = last;  // try again with the next request
  }
}

IssuedLink RelyingPartyService::new_request() {
  vault::AuthorizationRequest request;
  request.service_id = config_.service_id;
  request.scope_text = config_.scope_text;
  request.scope = vault::parse_scope(config_.scope_text);
  request.public_key_pem = key_.public_key_pem();
  request.nonce = random_hex32("nonce");
  request.callback_url = config_.public_url + "/callback";
  IssuedLink issued;
  issued.link = vault::build_authorization_link(request, vault::LinkFormat::idvault);
  issued.read_token = random_hex32("read token");
  store_.add_request(request.nonce, read_token_digest(issued.read_token), now());
  issued.nonce = std::move(request.nonce);
  return issued;
}

http::Response RelyingPartyService::handle(const http::Request& request) noexcept {
  try {
    purge_in_passing();
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (request.path == "/callback") {
      if (request.method != "POST") return http::Response::error(405, "POST a share bundle here");
      return callback(request);
    }
    if (!get) return http::Response::error(405, "method not allowed");
    if (request.path == "/") {
      http::Response page;
      page.content_type = "text/html; charset=utf-8";
      page.body = page_html_;
      page.headers.emplace_back(
          "Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
          "connect-src 'self'");
      return page;
    }
    if (request.path == "/demo.js") {
      http::Response script;
      script.content_type = "text/javascript; charset=utf-8";
      script.body = demo_page_script();
      return script;
    }
    if (request.path == "/request") return request_json();
    if (request.path == "/metrics") return metrics_text();
    if (request.path == "/healthz") return health();
    if (request.path == "/result") return result(request);
    if (request.path == "/file") return file(request);
    return http::Response::error(404, "no such page");
  } catch (const DecryptorsBusy&) {
    metrics_.refused("busy");
    http::Response busy = http::Response::error(503, "the service is busy: try again shortly");
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  } catch (const p11::Pkcs11Error& e) {
    http::Response down =
        http::Response::error(503, std::string("the HSM is not available: ") + e.what());
    down.headers.emplace_back("Retry-After", "5");
    return down;
  } catch (const SealedDataDamaged&) {
    // Altered or moved rows, or rows sealed under another seal key: said, never served.
    return http::Response::error(500, "the stored result is damaged and cannot be read");
  } catch (const StoreUnavailable&) {
    // The database went away (PostgreSQL restarted, the network to it cut): nothing was
    // stored, a nonce claimed in a transaction that did not commit stays open, and the
    // store reconnects by itself, so the client is told to come back rather than given a
    // 500. The cause stays in the server's logs, not in the answer.
    http::Response busy = http::Response::error(503, "the service's database is not available");
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  } catch (const std::exception&) {
    return http::Response::error(500, "internal error");
  }
}

std::set<std::string> service_routes() {
  return {"/", "/demo.js", "/request", "/callback", "/result", "/file", "/metrics", "/healthz"};
}

unsigned handler_threads_for(const ServiceConfig& config) noexcept {
  return static_cast<unsigned>(std::clamp<std::size_t>(config.decryptors, 1, 256)) + 16;
}

http::Response RelyingPartyService::metrics_text() const {
  http::Response response;
  response.content_type = http::kMetricsContentType;
  response.body = metrics_.registry.render();
  return response;
}

http::Response RelyingPartyService::health() const {
  http::Response response;
  response.content_type = "text/plain; charset=utf-8";
  const bool ok = !config_.healthy || config_.healthy();
  response.status = ok ? 200 : 503;
  response.body = ok ? "ok\n" : "the HSM does not answer\n";
  return response;
}

http::Response RelyingPartyService::request_json() {
  const IssuedLink issued = new_request();
  const nlohmann::json body = {
      {"nonce", issued.nonce}, {"link", issued.link}, {"qr_svg", qr_svg(issued.link)}};
  http::Response response = http::Response::json(200, body.dump());
  // Only the page that asked gets the token: not in the link, the QR code or the bundle,
  // and out of reach of scripts (HttpOnly) and of other sites' requests (SameSite).
  std::string cookie =
      read_cookie_name(issued.nonce) + "=" + issued.read_token + "; Path=/; Max-Age=" +
      std::to_string(config_.nonce_max_age_seconds + config_.pickup_window_seconds) +
      "; HttpOnly; SameSite=Strict";
  if (config_.public_url.rfind("https://", 0) == 0) cookie += "; Secure";
  response.headers.emplace_back("Set-Cookie", std::move(cookie));
  return response;
}

std::variant<IssuedRequest, http::Response> RelyingPartyService::reader_of(
    const http::Request& request, const std::string& nonce) {
  auto issued = store_.request(nonce);
  if (!issued) return http::Response::error(404, "unknown or expired request");
  if (!same_digest(read_token_digest(cookie_value(request, read_cookie_name(nonce))),
                   issued->read_token_sha256)) {
    return http::Response::error(403, "only the page that made this request may read its result");
  }
  if (issued->picked_up_at && now() > *issued->picked_up_at + config_.pickup_window_seconds)
    return http::Response::error(410, "the result was picked up and is no longer served");
  return *issued;
}

// The receipt's nonce is unknown here (expired and purged, or never issued), or answered.
http::Response RelyingPartyService::refuse_nonce(bool answered) {
  if (!answered) {
    metrics_.refused("unknown_nonce");
    return http::Response::error(410, kNoSuchRequest);
  }
  metrics_.refused("replay");
  return http::Response::error(409, "this request was already answered");
}

http::Response RelyingPartyService::callback(const http::Request& request) {
  if (request.body.empty()) {
    metrics_.refused("empty");
    return http::Response::error(400, "empty body: POST a share bundle");
  }
  const std::int64_t now = this->now();
  WorkerLease worker(*this);
  const ReceivedShare* share = nullptr;
  try {
    share = &worker->reader.read(request.body, std::nullopt);
  } catch (const vault::FormatError& e) {
    metrics_.refused("malformed");
    return http::Response::error(400, e.what());
  }
  // Without the holder's signed receipt anyone who saw a bundle could strip it and spend
  // the nonce first; the genuine bundle would then be refused as a replay.
  if (!share->receipt) {
    metrics_.refused("no_receipt");
    return http::Response::error(
        400, "the holder's receipt is missing: a bare PassportData is not accepted here");
  }
  // The receipt names the nonce in clear: refuse unknown and spent nonces before the HSM
  // spends an RSA operation on them. The decrypted nonce is what finally counts. Then the
  // bundle itself: copies racing in over every worker on this database find it leased,
  // and only the holder of the lease asks the HSM. One call to the store for both.
  const std::string& receipt_nonce = share->receipt->fields.nonce;
  BundleKey key;
  try {
    key = bundle_key(*share, request.body);
  } catch (const vault::FormatError& e) {
    // Undecodable credentials: an unknown or spent nonce still says so first.
    const auto issued = store_.request(receipt_nonce);
    if (issued && !issued->answered) {
      metrics_.refused("malformed");
      return http::Response::error(400, e.what());
    }
    return refuse_nonce(issued.has_value());
  }
  const BundleBegin begun =
      store_.admit_bundle(key, receipt_nonce, now, config_.bundle_lease_seconds);
  if (begun.state == BundleState::unknown_request) return refuse_nonce(false);
  if (begun.state == BundleState::answered_request) return refuse_nonce(true);
  if (begun.state == BundleState::in_progress) {
    // Not a final answer: the worker holding the lease may have died with it (kill -9),
    // and then this copy is taken over once the lease runs out. Retry-After tells the
    // sender when asking again gives the outcome.
    metrics_.refused("replay");
    http::Response busy = http::Response::error(
        409, "this bundle is being processed: ask again after Retry-After seconds for its outcome");
    busy.headers.emplace_back("Retry-After", std::to_string(config_.bundle_lease_seconds));
    return busy;
  }
  if (begun.state == BundleState::settled) {
    if (begun.outcome.status == 200) {
      metrics_.refused("replay");
      return http::Response::error(409, "this request was already answered");
    }
    metrics_.refused("repeated");
    return http::Response::json(begun.outcome.status, begun.outcome.body);
  }
  BundleHold hold(store_, std::move(key));
  IntakeOptions options;
  options.trusted_verifiers = config_.trusted_verifiers;
  options.now = now;
  nlohmann::ordered_json report;
  const auto decrypting = std::chrono::steady_clock::now();
  try {
    report = worker->intake.accept(*share, options);
  } catch (const vault::FormatError& e) {
    metrics_.refused("malformed");
    return hold.refuse(http::Response::error(400, e.what()));
  } catch (const vault::DecryptError& e) {
    metrics_.refused("undecryptable");
    return hold.refuse(http::Response::error(
        400, std::string(e.what()) + " (tampered, or not encrypted to this service)"));
  } catch (const ShareRejected& e) {
    metrics_.refused("rejected");
    return hold.refuse(http::Response::error(400, e.what()));
  }
  metrics_.stage_seconds.with({"decrypt"}).observe(seconds_since(decrypting));
  // accept() verified the proof on its own (or refused the share); now against the longest log of
  // its account seen here, which may show the receipt's device revoked (known_account_log.h). A
  // store call of its own, after the HSM and before the claim.
  if (share->account) {
    try {
      check_against_known_log(store_, *share->account, share->receipt->public_key_spki_der);
    } catch (const ShareRejected& e) {
      metrics_.refused("rejected");
      return hold.refuse(http::Response::error(400, e.what()));
    }
  }
  const vault::DecryptedPassport& passport = worker->intake.last();
  nlohmann::ordered_json errors_json = nullptr;
  if (auto errors = automatic_errors(passport, now); !errors.empty()) {
    vault::ElementErrorNotice notice{passport.nonce, share->passport_data.credentials.hash, now,
                                     std::move(errors)};
    errors_json = vault::to_json(vault::sign_element_errors(std::move(notice), metered_signer_));
  }
  // Sealed before the transaction: the wrap is an HSM call, never made inside it.
  const ResultSealer::Sealing sealing = sealer_.seal_result(passport.nonce);
  std::vector<StoredFile> files;
  collect_files(passport, sealing, files);
  const ReceivedResult stored{
      sealing.wrapped_key(), sealing.seal(report_part(), vault::bytes_of(report.dump())),
      sealing.seal(errors_part(), vault::bytes_of(errors_json.dump())), now};
  nlohmann::ordered_json answer;
  answer["status"] = "accepted";
  answer["nonce"] = passport.nonce;
  answer["elements"] = report["elements"].size();
  answer["errors"] = std::move(errors_json);
  const BundleOutcome accepted{200, answer.dump()};
  const auto committing = std::chrono::steady_clock::now();
  const ClaimOutcome claimed = store_.claim_and_store(
      passport.nonce, now, config_.nonce_max_age_seconds, stored, files, &hold.key(), accepted);
  metrics_.stage_seconds.with({"commit"}).observe(seconds_since(committing));
  switch (claimed) {
    case ClaimOutcome::claimed:
      hold.claimed();
      break;
    case ClaimOutcome::unknown:
      metrics_.refused("unknown_nonce");
      return hold.refuse(http::Response::error(410, kNoSuchRequest));
    case ClaimOutcome::replayed:
      metrics_.refused("replay");
      return hold.refuse(http::Response::error(409, "this request was already answered"));
    case ClaimOutcome::expired:
      metrics_.refused("expired");
      return hold.refuse(http::Response::error(410, "the request expired: ask for a new one"));
  }
  metrics_.bundles_accepted.inc();
  return http::Response::json(200, accepted.body);
}

http::Response RelyingPartyService::result(const http::Request& request) {
  auto it = request.query.find("nonce");
  if (it == request.query.end()) return http::Response::error(400, "nonce missing");
  auto reader = reader_of(request, it->second);
  if (auto* refused = std::get_if<http::Response>(&reader)) return std::move(*refused);
  if (!std::get<IssuedRequest>(reader).answered)
    return http::Response::json(200, R"({"status":"pending"})");
  auto stored = store_.pick_up(it->second, now());
  if (!stored) return http::Response::error(410, "the result is no longer kept");
  nlohmann::ordered_json body;
  body["status"] = "received";
  body["received_at"] = stored->received_at;
  const ResultSealer::Opening opening = sealer_.open_result(it->second, stored->wrapped_key);
  body["report"] =
      nlohmann::ordered_json::parse(opening.open(report_part(), stored->report).reveal_text());
  body["errors"] =
      nlohmann::ordered_json::parse(opening.open(errors_part(), stored->errors).reveal_text());
  http::Response response = http::Response::json(200, body.dump());
  return response;
}

http::Response RelyingPartyService::file(const http::Request& request) {
  auto nonce = request.query.find("nonce");
  auto id = request.query.find("file_id");
  if (nonce == request.query.end() || id == request.query.end())
    return http::Response::error(400, "nonce and file_id needed");
  auto reader = reader_of(request, nonce->second);
  if (auto* refused = std::get_if<http::Response>(&reader)) return std::move(*refused);
  auto sealed = store_.file(nonce->second, id->second);
  if (!sealed) return http::Response::error(404, "no such file");
  const SecretBytes bytes = sealer_.open_result(nonce->second, sealed->wrapped_key)
                                .open(file_part(id->second), sealed->bytes);
  http::Response response;
  response.content_type = content_type_of(bytes.reveal());
  response.body.assign(bytes.reveal_text());
  // Holder-supplied bytes: never let them run as a page of ours (an SVG could script).
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  return response;
}

}  // namespace idvault::rp
