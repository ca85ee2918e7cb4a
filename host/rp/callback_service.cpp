#include "host/rp/callback_service.h"

#include <openssl/rand.h>

#include "host/rp/automatic_errors.h"
#include "host/rp/cli_support.h"
#include "host/rp/demo_page.h"
#include "host/rp/qr_svg.h"
#include "pkcs11/error.h"
#include "vault/auth_link.h"
#include "vault/errors.h"
#include "vault/hex.h"

namespace idvault::rp {

struct RelyingPartyService::Worker {
  explicit Worker(const vault::ServiceKey& key) : intake(key) {}
  ShareReader reader;
  ShareIntake intake;
};

// Exclusive use of one pooled worker; waits when all are busy.
class RelyingPartyService::WorkerLease {
 public:
  explicit WorkerLease(RelyingPartyService& service) : service_(service) {
    std::unique_lock lock(service_.pool_mutex_);
    service_.pool_returned_.wait(lock, [&] {
      return !service_.idle_workers_.empty() ||
             service_.workers_made_ < service_.config_.decryptors;
    });
    if (!service_.idle_workers_.empty()) {
      worker_ = std::move(service_.idle_workers_.back());
      service_.idle_workers_.pop_back();
    } else {
      ++service_.workers_made_;
      lock.unlock();
      try {
        worker_ = std::make_unique<Worker>(service_.key_);
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

std::string random_nonce() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw std::runtime_error("no randomness for a nonce");
  return vault::hex_lower(bytes);
}

std::string content_type_of(const std::vector<std::uint8_t>& bytes) {
  const auto starts = [&](std::string_view magic) {
    return bytes.size() >= magic.size() &&
           std::equal(magic.begin(), magic.end(), bytes.begin(),
                      [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
  };
  if (starts("\xff\xd8\xff")) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("%PDF")) return "application/pdf";
  if (starts("<svg") || starts("<?xml")) return "image/svg+xml";
  return "application/octet-stream";
}

void collect_files(const vault::DecryptedPassport& passport, std::vector<StoredFile>& out) {
  const auto keep = [&](const vault::DecryptedFile& file) {
    if (!file.missing())
      out.push_back({file.file_id,
                     std::vector<std::uint8_t>(file.plaintext->begin(), file.plaintext->end())});
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
                                         const vault::ErrorSigningKey& signer, RequestStore& store,
                                         ServiceConfig config)
    : key_(key), signer_(signer), store_(store), config_(std::move(config)) {
  if (config_.decryptors == 0) config_.decryptors = 1;
  (void)vault::parse_scope(config_.scope_text);  // a bad scope fails at start, not per request
}

RelyingPartyService::~RelyingPartyService() = default;

std::pair<std::string, std::string> RelyingPartyService::new_request() {
  vault::AuthorizationRequest request;
  request.service_id = config_.service_id;
  request.scope_text = config_.scope_text;
  request.scope = vault::parse_scope(config_.scope_text);
  request.public_key_pem = key_.public_key_pem();
  request.nonce = random_nonce();
  request.callback_url = config_.public_url + "/callback";
  std::string link = vault::build_authorization_link(request, vault::LinkFormat::idvault);
  store_.add_request(request.nonce, unix_now());
  return {request.nonce, std::move(link)};
}

HttpResponse RelyingPartyService::handle(const HttpRequest& request) noexcept {
  try {
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (request.path == "/callback") {
      if (request.method != "POST") return HttpResponse::error(405, "POST a share bundle here");
      return callback(request);
    }
    if (!get) return HttpResponse::error(405, "method not allowed");
    if (request.path == "/") {
      HttpResponse page;
      page.content_type = "text/html; charset=utf-8";
      page.body = demo_page_html();
      page.headers.emplace_back(
          "Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
          "connect-src 'self'");
      return page;
    }
    if (request.path == "/demo.js") {
      HttpResponse script;
      script.content_type = "text/javascript; charset=utf-8";
      script.body = demo_page_script();
      return script;
    }
    if (request.path == "/request") return request_json();
    if (request.path == "/result") return result(request);
    if (request.path == "/file") return file(request);
    return HttpResponse::error(404, "no such page");
  } catch (const p11::Pkcs11Error& e) {
    return HttpResponse::error(503, std::string("the HSM is not available: ") + e.what());
  } catch (const std::exception&) {
    return HttpResponse::error(500, "internal error");
  }
}

HttpResponse RelyingPartyService::request_json() {
  auto [nonce, link] = new_request();
  const nlohmann::json body = {{"nonce", nonce}, {"link", link}, {"qr_svg", qr_svg(link)}};
  return HttpResponse::json(200, body.dump());
}

HttpResponse RelyingPartyService::callback(const HttpRequest& request) {
  if (request.body.empty()) return HttpResponse::error(400, "empty body: POST a share bundle");
  const std::int64_t now = unix_now();
  WorkerLease worker(*this);
  const ReceivedShare* share = nullptr;
  try {
    share = &worker->reader.read(request.body, std::nullopt);
  } catch (const vault::FormatError& e) {
    return HttpResponse::error(400, e.what());
  }
  // The receipt names the nonce in clear: refuse unknown and spent nonces before the HSM
  // spends an RSA operation on them. The decrypted nonce is what finally counts.
  if (share->receipt && !store_.has_request(share->receipt->fields.nonce)) {
    return HttpResponse::error(400, "unknown nonce: ask for a new request");
  }
  if (share->receipt && store_.result(share->receipt->fields.nonce)) {
    return HttpResponse::error(409, "this request was already answered");
  }
  IntakeOptions options;
  options.trusted_verifiers = config_.trusted_verifiers;
  options.now = now;
  nlohmann::ordered_json report;
  try {
    report = worker->intake.accept(*share, options);
  } catch (const vault::FormatError& e) {
    return HttpResponse::error(400, e.what());
  } catch (const vault::DecryptError& e) {
    return HttpResponse::error(
        400, std::string(e.what()) + " (tampered, or not encrypted to this service)");
  } catch (const ShareRejected& e) {
    return HttpResponse::error(400, e.what());
  }
  const vault::DecryptedPassport& passport = worker->intake.last();
  nlohmann::ordered_json errors_json = nullptr;
  if (auto errors = automatic_errors(passport, now); !errors.empty()) {
    vault::ElementErrorNotice notice{passport.nonce, share->passport_data.credentials.hash, now,
                                     std::move(errors)};
    errors_json = vault::to_json(vault::sign_element_errors(std::move(notice), signer_));
  }
  std::vector<StoredFile> files;
  collect_files(passport, files);
  const ReceivedResult stored{report.dump(), errors_json.dump(), now};
  switch (
      store_.claim_and_store(passport.nonce, now, config_.nonce_max_age_seconds, stored, files)) {
    case ClaimOutcome::claimed:
      break;
    case ClaimOutcome::unknown:
      return HttpResponse::error(400, "unknown nonce: ask for a new request");
    case ClaimOutcome::replayed:
      return HttpResponse::error(409, "this request was already answered");
    case ClaimOutcome::expired:
      return HttpResponse::error(410, "the request expired: ask for a new one");
  }
  nlohmann::ordered_json answer;
  answer["status"] = "accepted";
  answer["nonce"] = passport.nonce;
  answer["elements"] = report["elements"].size();
  answer["errors"] = std::move(errors_json);
  return HttpResponse::json(200, answer.dump());
}

HttpResponse RelyingPartyService::result(const HttpRequest& request) {
  auto it = request.query.find("nonce");
  if (it == request.query.end()) return HttpResponse::error(400, "nonce missing");
  if (auto stored = store_.result(it->second)) {
    nlohmann::ordered_json body;
    body["status"] = "received";
    body["received_at"] = stored->received_at;
    body["report"] = nlohmann::ordered_json::parse(stored->report_json);
    body["errors"] = nlohmann::ordered_json::parse(stored->errors_json);
    return HttpResponse::json(200, body.dump());
  }
  if (store_.has_request(it->second)) return HttpResponse::json(200, R"({"status":"pending"})");
  return HttpResponse::error(404, "unknown nonce");
}

HttpResponse RelyingPartyService::file(const HttpRequest& request) {
  auto nonce = request.query.find("nonce");
  auto id = request.query.find("file_id");
  if (nonce == request.query.end() || id == request.query.end())
    return HttpResponse::error(400, "nonce and file_id needed");
  auto bytes = store_.file(nonce->second, id->second);
  if (!bytes) return HttpResponse::error(404, "no such file");
  HttpResponse response;
  response.content_type = content_type_of(*bytes);
  response.body.assign(bytes->begin(), bytes->end());
  // Holder-supplied bytes: never let them run as a page of ours (an SVG could script).
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  return response;
}

}  // namespace idvault::rp
