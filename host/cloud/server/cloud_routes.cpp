#include "host/cloud/server/cloud_routes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "common/format_error.h"
#include "common/json_fields.h"
#include "host/cloud/server/file_upload.h"
#include "host/cloud/server/slot_ciphertext.h"
#include "vault/account/account_log.h"
#include "vault/account/request_signature.h"

namespace idvault::cloud {

namespace {

using Json = nlohmann::json;

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

http::Response bytes_answer(int status, const std::vector<std::uint8_t>& bytes) {
  http::Response response;
  response.status = status;
  response.content_type = "application/octet-stream";
  response.body.assign(bytes.begin(), bytes.end());
  return response;
}

// A stored file sent from disk as it is read, never copied whole into the answer.
http::Response file_answer(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (descriptor < 0) throw std::runtime_error("cannot open the stored file " + path.string());
  struct stat status {};
  const int stated = ::fstat(descriptor, &status);
  auto content = std::make_shared<const http::FileContent>(
      descriptor, stated == 0 ? static_cast<std::uint64_t>(status.st_size) : 0);
  if (stated != 0) throw std::runtime_error("cannot read the stored file " + path.string());
  http::Response response;
  response.content_type = "application/octet-stream";
  response.file = std::move(content);
  return response;
}

std::string etag(const std::string& revision) {
  return "\"" + revision + "\"";
}

// If-Match / If-None-Match: a quoted revision (or a bare one); nullopt when absent.
std::optional<std::string> unquoted(const http::Request& request, const std::string& name) {
  const auto found = request.headers.find(name);
  if (found == request.headers.end()) return std::nullopt;
  std::string value = found->second;
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return value;
}

std::optional<std::int64_t> number(const http::Request& request, const std::string& name,
                                   std::int64_t fallback) {
  const auto found = request.query.find(name);
  if (found == request.query.end()) return fallback;
  std::int64_t value = 0;
  const std::string& text = found->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

struct CloudService::Route {
  std::string label = "other";
  std::vector<std::string> parts;  // path segments after the leading '/'
};

CloudService::CloudService(CloudStore& store, CloudServiceOptions options)
    : store_(store),
      options_(std::move(options)),
      states_(store),
      join_(store, states_, options_.clock, options_.join) {}

std::size_t CloudService::purge_expired() {
  return join_.purge();
}

std::set<std::string> CloudService::fixed_routes() {
  return {"/healthz", "/metrics", "/v1/accounts"};
}

http::Response CloudService::handle(const http::Request& request) {
  Route route;
  route.parts = split_path(request.path);
  http::Response response;
  try {
    response = dispatch(request, route);
  } catch (...) {
    response = failure_answer();
  }
  count(route, response.status);
  return response;
}

http::Response CloudService::failure_answer() {
  try {
    throw;
  } catch (const StoreUnavailable&) {
    http::Response response = http::Response::error(503, "the store is unavailable: retry shortly");
    response.headers.emplace_back("Retry-After", "1");
    return response;
  } catch (const UnknownAccount&) {
    return http::Response::error(404, "no such account");
  } catch (const QuotaExceeded& e) {
    return http::Response::error(507, "the account is over its quota: " + std::to_string(e.used) +
                                          " of " + std::to_string(e.limit) + " bytes used, " +
                                          std::to_string(e.needed) + " more asked");
  } catch (const FileHashMismatch&) {
    return http::Response::error(400, "the file's SHA-256 is not the name it was put under");
  } catch (const std::invalid_argument& e) {
    return http::Response::error(400, e.what());
  } catch (const vault::AccountLogError& e) {
    // The stored log itself does not verify: the database was altered.
    return http::Response::error(500, std::string("stored account log refused: ") + e.what());
  }
}

void CloudService::count(const Route& route, int status) {
  if (options_.metrics == nullptr) return;
  options_.metrics
      ->counter("idvault_cloud_requests_total", "Requests answered, by route and status",
                {"route", "status"})
      .with({route.label, std::to_string(status)})
      .inc();
}

http::BodyPlan CloudService::plan_body(const http::Request& head, std::uint64_t length) {
  Route route;
  route.parts = split_path(head.path);
  const auto& parts = route.parts;
  if (head.method != "PUT" || parts.size() != 5 || parts[0] != "v1" || parts[1] != "accounts" ||
      parts[3] != "files")
    return {};
  route.label = "PUT /v1/accounts/{account}/files/{sha256}";
  http::BodyPlan plan;
  try {
    plan = start_upload(head, length, route);
  } catch (...) {
    plan.refusal = failure_answer();
  }
  if (plan.refusal) count(route, plan.refusal->status);
  return plan;
}

http::BodyPlan CloudService::start_upload(const http::Request& head, std::uint64_t length,
                                          const Route& route) {
  const std::string& account = route.parts[2];
  const std::string& sha256 = route.parts[4];
  http::BodyPlan plan;
  if (length > kMaxFileBytes) {
    plan.refusal =
        http::Response::error(413, "body over " + std::to_string(kMaxFileBytes) + " bytes");
    return plan;
  }
  // The signature is checked now by the body hash it names; the body is then held to
  // that hash when it is in (finish_upload), as a body read whole is.
  std::string signed_body_sha256;
  try {
    signed_body_sha256 =
        vault::parse_request_signature(head.header("idvault-signature")).body_sha256;
  } catch (const FormatError&) {
    // authenticate() says what is wrong with the header.
  }
  const AuthResult auth =
      authenticate(head, states_, store_, options_.clock, std::string_view(signed_body_sha256));
  if (!auth.who) {
    plan.refusal = http::Response::error(auth.status, auth.message);
  } else if (auth.who->account != account) {
    plan.refusal = http::Response::error(403, "signed for another account than the path names");
  } else if (auth.who->recovery_key) {
    plan.refusal = http::Response::error(403, "the recovery key may only read the account log");
  } else if (!valid_sha256_hex(sha256)) {
    plan.refusal = http::Response::error(400, "a file's name is its SHA-256 hex");
  } else {
    plan.sink = std::make_shared<FileUpload>(store_.receive_file(account, sha256, length),
                                             std::move(signed_body_sha256));
  }
  return plan;
}

http::Response CloudService::finish_upload(const http::Request& request, const std::string& account,
                                           const std::string& sha256) {
  auto* upload = dynamic_cast<FileUpload*>(request.body_sink.get());
  if (upload == nullptr) throw std::logic_error("a file upload's body went to another sink");
  IncomingFile& file = upload->file();
  if (file.sha256_hex() != upload->signed_body_sha256())
    return http::Response::error(
        401, std::string(vault::describe(vault::RequestRefusal::body_mismatch)));
  const bool fresh = file.kept();
  store_.put_file(account, sha256, file);  // FileHashMismatch (400) when not its name
  if (!fresh) return http::Response::json(200, Json{{"sha256", sha256}, {"stored", false}}.dump());
  notifier_.changed(account);
  return http::Response::json(201, Json{{"sha256", sha256}, {"stored", true}}.dump());
}

http::Response CloudService::dispatch(const http::Request& request, Route& route) {
  const auto& parts = route.parts;
  if (request.path == "/healthz" && request.method == "GET") {
    route.label = "GET /healthz";
    (void)store_.has_account("00");
    return http::Response::json(200, R"({"ok":true})");
  }
  if (request.path == "/metrics" && request.method == "GET" && options_.metrics != nullptr) {
    route.label = "GET /metrics";
    http::Response response;
    response.content_type = http::kMetricsContentType;
    response.body = options_.metrics->render();
    return response;
  }
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "accounts")
    return http::Response::error(404, "no such route");
  if (parts.size() == 2) {
    if (request.method != "POST") return http::Response::error(405, "POST a genesis entry here");
    route.label = "POST /v1/accounts";
    return create_account(request);
  }
  return account_route(request, route);
}

http::Response CloudService::create_account(const http::Request& request) {
  if (request.body.size() > kMaxSmallBodyBytes)
    return http::Response::error(413, "a genesis entry is smaller than that");
  const std::string account = vault::AccountLog::entry_hash(request.body);
  vault::AccountState state;
  try {
    const std::vector<std::string> entries{request.body};
    state = vault::AccountLog::verify(entries, account, nullptr);
  } catch (const vault::AccountLogError& e) {
    return http::Response::error(400, std::string("not a valid genesis entry: ") + e.what());
  }
  const AuthResult auth = authenticate(request, state, store_, options_.clock);
  if (!auth.who) return http::Response::error(auth.status, auth.message);
  try {
    store_.create_account(account, bytes_of(request.body));
  } catch (const AccountExists&) {
    return http::Response::error(409, "the account exists");
  }
  states_.remember(std::make_shared<const vault::AccountState>(std::move(state)));
  notifier_.changed(account);
  return http::Response::json(201, Json{{"account", account}}.dump());
}

http::Response CloudService::account_route(const http::Request& request, Route& route) {
  const auto& parts = route.parts;
  const std::string& account = parts[2];
  const std::string kind = parts.size() > 3 ? parts[3] : "";
  const std::string& method = request.method;
  const bool has_id = parts.size() == 5;
  if (parts.size() > 5 || parts.size() < 4) return http::Response::error(404, "no such route");
  const std::string id = has_id ? parts[4] : "";
  // The route's label before anything can fail, so refusals are counted by route.
  if (kind == "log" && !has_id && (method == "GET" || method == "POST")) {
    route.label = method + " /v1/accounts/{account}/log";
  } else if (kind == "slots" && !has_id && method == "GET") {
    route.label = "GET /v1/accounts/{account}/slots";
  } else if (kind == "slots" && has_id &&
             (method == "GET" || method == "PUT" || method == "DELETE")) {
    route.label = method + " /v1/accounts/{account}/slots/{slot}";
  } else if (kind == "items" && has_id &&
             (method == "GET" || method == "PUT" || method == "DELETE")) {
    route.label = method + " /v1/accounts/{account}/items/{item}";
  } else if (kind == "files" && has_id && (method == "GET" || method == "PUT")) {
    route.label = method + " /v1/accounts/{account}/files/{sha256}";
  } else if (kind == "changes" && !has_id && method == "GET") {
    route.label = "GET /v1/accounts/{account}/changes";
  } else if (kind == "join-requests" && !has_id && (method == "GET" || method == "POST")) {
    route.label = method + " /v1/accounts/{account}/join-requests";
  } else if (kind == "join-requests" && has_id && (method == "GET" || method == "DELETE")) {
    route.label = method + " /v1/accounts/{account}/join-requests/{id}";
  } else if (kind == "recovery-key" && !has_id && (method == "GET" || method == "PUT")) {
    route.label = method + " /v1/accounts/{account}/recovery-key";
  } else {
    return http::Response::error(404, "no such route");
  }
  // Authenticated, weighed and streamed to disk before the handler (plan_body).
  if (kind == "files" && method == "PUT" && request.body_sink)
    return finish_upload(request, account, id);
  // Rate-limited before its body is even weighed.
  if (kind == "join-requests" && method == "POST") return join_.submit(request, account);
  const std::size_t limit = kind == "files"          ? kMaxFileBytes
                            : kind == "recovery-key" ? kMaxRecoveryKeyBytes
                                                     : kMaxSmallBodyBytes;
  if (request.body.size() > limit)
    return http::Response::error(413, "body over " + std::to_string(limit) + " bytes");

  // What a device reaches before it holds a key of the account (join_request_routes.h;
  // the recovery key is sealed under the recovery code, so reading it gives nothing).
  if (kind == "join-requests" && has_id && method == "GET") return join_.status(account, id);
  if (kind == "recovery-key" && method == "GET") {
    const auto envelope = store_.recovery_key(account);
    if (!envelope) return http::Response::error(404, "the account has no recovery key stored");
    return bytes_answer(200, *envelope);
  }
  if (kind == "log" && method == "POST" && !request.headers.contains("idvault-signature"))
    return append_log(request, account, true);

  const AuthResult auth = authenticate(request, states_, store_, options_.clock);
  if (!auth.who) return http::Response::error(auth.status, auth.message);
  if (auth.who->account != account)
    return http::Response::error(403, "signed for another account than the path names");
  // The recovery key reads the log it needs to enrol a device (the entry itself goes in
  // unsigned, above); everything else waits for that device's own signature.
  if (auth.who->recovery_key && !(kind == "log" && method == "GET"))
    return http::Response::error(403, "the recovery key may only read the account log");

  if (kind == "join-requests")
    return method == "GET" ? join_.pending(account) : join_.decline(account, id);
  if (kind == "recovery-key") {
    store_.put_recovery_key(account, bytes_of(request.body));
    http::Response response;
    response.status = 204;
    return response;
  }

  if (kind == "log") {
    if (method == "GET") {
      const auto from = number(request, "from", 0);
      if (!from) return http::Response::error(400, "from must be a whole number");
      const auto state = states_.current(account);
      Json entries = Json::array();
      for (const LogEntry& entry : store_.log(account, *from))
        entries.push_back(std::string(entry.bytes.begin(), entry.bytes.end()));
      // Past the end, the length the log has (so a client asking too far learns it).
      const std::int64_t length = entries.empty()
                                      ? static_cast<std::int64_t>(state->length)
                                      : *from + static_cast<std::int64_t>(entries.size());
      return http::Response::json(
          200, Json{{"from", *from}, {"length", length}, {"entries", entries}}.dump());
    }
    return append_log(request, account, false);
  }

  if (kind == "slots") {
    if (!has_id) {
      Json slots = Json::array();
      for (const KeySlot& slot : store_.slots(account))
        slots.push_back({{"id", slot.slot_id}, {"bytes", base64_encode(slot.bytes)}});
      return http::Response::json(200, Json{{"slots", slots}}.dump());
    }
    if (method == "PUT") {
      // Only a slot the verified log names, and only what fits its key: an RSA-OAEP
      // ciphertext is exactly the modulus long.
      const auto state = states_.current(account);
      const auto named = state->slots.find(id);
      if (named == state->slots.end())
        return http::Response::error(404, "the account log names no slot " + id);
      const std::size_t size = slot_ciphertext_size(named->second.key);
      if (request.body.size() != size) {
        return http::Response::error(400, "slot " + id + " holds an RSA-OAEP ciphertext of " +
                                              std::to_string(size) + " bytes (its key's modulus)");
      }
      store_.put_slot(account, id, bytes_of(request.body));
      notifier_.changed(account);
      return http::Response::json(200, Json{{"slot", id}}.dump());
    }
    if (method == "DELETE") {
      if (!store_.remove_slot(account, id)) return http::Response::error(404, "no such slot");
      notifier_.changed(account);
      http::Response response;
      response.status = 204;
      return response;
    }
    for (const KeySlot& slot : store_.slots(account))
      if (slot.slot_id == id) return bytes_answer(200, slot.bytes);
    return http::Response::error(404, "no such slot");
  }

  if (kind == "items") {
    if (method == "GET") {
      const auto item = store_.item(account, id);
      if (!item) return http::Response::error(404, "no such item");
      http::Response response =
          item->deleted ? http::Response::json(410, Json{{"revision", item->revision}}.dump())
                        : bytes_answer(200, item->bytes);
      response.headers.emplace_back("ETag", etag(item->revision));
      return response;
    }
    const auto if_match = unquoted(request, "if-match");
    const auto if_none_match = unquoted(request, "if-none-match");
    if (if_match == "*")
      return http::Response::error(400, "If-Match: * is not taken: name the revision");
    const bool first_write = method == "PUT" && !if_match && if_none_match == "*";
    if (!if_match && !first_write) {
      return http::Response::error(
          428, method == "PUT" ? "name the revision written on: If-Match, or If-None-Match: * "
                                 "for a new item"
                               : "name the revision deleted: If-Match");
    }
    ItemWrite write;
    write.item_id = id;
    write.parent_revision = if_match.value_or("");
    write.deleted = method == "DELETE";
    write.bytes.assign(request.body.begin(), request.body.end());
    write.revision = sha256_hex(bytes_of(write.parent_revision + '\0' +
                                         (write.deleted ? "deleted" : "put") + '\0' + request.body))
                         .substr(0, 32);
    if (write.parent_revision.empty() && !first_write)
      return http::Response::error(400, "If-Match names no revision");
    if (const auto conflict = store_.put_item(account, write)) {
      http::Response response = http::Response::json(
          409, Json{{"error", "the item changed: merge against the current revision"},
                    {"current_revision", conflict->current_revision},
                    {"deleted", conflict->current_deleted}}
                   .dump());
      if (!conflict->current_revision.empty())
        response.headers.emplace_back("ETag", etag(conflict->current_revision));
      return response;
    }
    notifier_.changed(account);
    http::Response response = http::Response::json(200, Json{{"revision", write.revision}}.dump());
    response.headers.emplace_back("ETag", etag(write.revision));
    return response;
  }

  if (kind == "files") {
    if (method == "GET") {
      if (const auto path = store_.file_on_disk(account, id)) return file_answer(*path);
      const auto bytes = store_.file(account, id);
      if (!bytes) return http::Response::error(404, "no such file");
      return bytes_answer(200, *bytes);
    }
    if (!valid_sha256_hex(id))
      return http::Response::error(400, "a file's name is its SHA-256 hex");
    if (store_.has_file(account, id)) {
      if (sha256_hex(bytes_of(request.body)) != id)
        return http::Response::error(400, "the file's SHA-256 is not the name it was put under");
      return http::Response::json(200, Json{{"sha256", id}, {"stored", false}}.dump());
    }
    store_.put_file(account, id, bytes_of(request.body));
    notifier_.changed(account);
    return http::Response::json(201, Json{{"sha256", id}, {"stored", true}}.dump());
  }

  // changes
  const auto since = number(request, "since", 0);
  const auto wait = number(request, "wait", 0);
  if (!since || !wait) return http::Response::error(400, "since and wait are whole numbers");
  const auto wait_for = std::min(std::chrono::seconds(*wait), options_.max_wait);
  const auto deadline = std::chrono::steady_clock::now() + wait_for;
  std::vector<Change> changes;
  for (;;) {
    const std::uint64_t seen = notifier_.version(account);
    changes = store_.changes_since(account, *since, 1000);
    const auto now = std::chrono::steady_clock::now();
    if (!changes.empty() || now >= deadline || notifier_.stopping()) break;
    notifier_.wait(account, seen, std::min(deadline, now + options_.recheck));
  }
  Json listed = Json::array();
  std::int64_t last = *since;
  for (const Change& change : changes) {
    listed.push_back({{"kind", std::string(to_string(change.kind))},
                      {"id", change.id},
                      {"counter", change.counter}});
    last = std::max(last, change.counter);
  }
  return http::Response::json(200, Json{{"changes", listed}, {"counter", last}}.dump());
}

http::Response CloudService::append_log(const http::Request& request, const std::string& account,
                                        bool unsigned_request) {
  const auto state = states_.current(account);
  if (!state) return http::Response::error(404, "no such account");
  if (unsigned_request) {
    // Without a device's signature, only the recovery key may write: a recovery has no
    // device yet. AccountLog::extend then checks it is a current recovery slot's key.
    std::string alg;
    try {
      const Json entry = json_fields::parse(request.body, "entry");
      if (entry.is_object() && entry.contains("alg") && entry["alg"].is_string())
        alg = entry["alg"].get<std::string>();
    } catch (const FormatError&) {
    }
    if (alg != "PS256") {
      return http::Response::error(
          401,
          "no Idvault-Signature header: only an entry signed by the recovery key may be "
          "posted unsigned");
    }
  }
  auto next = std::make_shared<vault::AccountState>(*state);
  try {
    const std::vector<std::string> entries{request.body};
    vault::AccountLog::extend(*next, entries);
  } catch (const vault::AccountLogError& e) {
    const vault::LogFault fault = e.fault();
    if (fault == vault::LogFault::out_of_order || fault == vault::LogFault::broken_link) {
      return http::Response::json(
          409,
          Json{{"error", std::string("not the next entry: ") + e.what()}, {"length", state->length}}
              .dump());
    }
    const bool signer_fault =
        fault == vault::LogFault::unknown_signer || fault == vault::LogFault::revoked_signer ||
        fault == vault::LogFault::bad_signature || fault == vault::LogFault::wrong_signer;
    if (unsigned_request && signer_fault)
      return http::Response::error(401, std::string("not signed by the recovery key: ") + e.what());
    return http::Response::error(400, std::string("entry refused: ") + e.what());
  }
  const auto seq = static_cast<std::int64_t>(state->length);
  if (const auto conflict = store_.append_log_entry(account, seq, bytes_of(request.body))) {
    return http::Response::json(
        409, Json{{"error", "another entry got there first: read the log and sign again"},
                  {"length", conflict->length}}
                 .dump());
  }
  states_.remember(next);
  notifier_.changed(account);
  return http::Response::json(
      201, Json{{"seq", seq}, {"hash", vault::AccountLog::entry_hash(request.body)}}.dump());
}

}  // namespace idvault::cloud
