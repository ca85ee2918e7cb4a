#include "host/cloud/client/cloud_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/base64.h"
#include "common/format_error.h"
#include "host/http/curl_owner.h"
#include "vault/signed/signed_statement.h"

namespace idvault::cloud {

using http::CurlOwner;
using Json = nlohmann::json;

// A file is up to 64 MiB, any other body up to 1 MiB (the server's limits); the little
// more leaves room for the server's framing of the same bytes in an error answer.
constexpr std::size_t kMaxFileAnswerBytes = (64U << 20) + (64U << 10);
constexpr std::size_t kMaxSmallAnswerBytes = (1U << 20) + (64U << 10);
constexpr std::size_t kMaxHeaderBytes = 16U << 10;
constexpr std::size_t kErrorBodyKept = 4096;
constexpr std::size_t kMaxIdLength = 256;

struct CurlMulti {
  http::CurlMultiOwner handle;
};

struct CloudCall {
  std::string method;
  std::string target;  // origin form, exactly as signed and sent
  vault::ByteView body;
  std::vector<std::string> headers;  // whole header lines
  bool signed_request = true;        // false: never signed (the unsigned routes)
  std::size_t max_answer = kMaxSmallAnswerBytes;
  std::chrono::seconds extra_time{0};  // a long poll's wait, on top of the time-out
  std::string body_sha256 = {};        // the body's hash when the caller has it (a file's name)
};

struct CloudAnswer {
  long status = 0;
  vault::Bytes body;
  std::string etag;  // unquoted
  std::optional<long> retry_after;
  // Filled as the answer arrives.
  std::size_t limit = 0;
  bool too_large = false;
  std::size_t header_bytes = 0;
  [[nodiscard]] std::string text() const { return {body.begin(), body.end()}; }
};

CloudError::CloudError(const std::string& message, long status_code,
                       std::optional<long> retry_after, std::string answer_body)
    : std::runtime_error(message),
      status(status_code),
      retry_after_seconds(retry_after),
      body(std::move(answer_body)) {}

namespace {

bool id_character(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '~' ||
         c == '-';
}

// Ids and revisions go on the request line and into headers as they are: only unreserved
// characters, so nothing needs escaping and nothing can be read as another path.
const std::string& checked_id(const std::string& id, const char* what) {
  if (id.empty() || id.size() > kMaxIdLength || id == "." || id == ".." ||
      !std::all_of(id.begin(), id.end(), id_character)) {
    throw FormatError(what, "must be 1-256 characters of [A-Za-z0-9._~-]");
  }
  return id;
}

std::string account_path(const std::string& account, const std::string& rest) {
  return "/v1/accounts/" + checked_id(account, "account") + rest;
}

vault::ByteView bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Printable ASCII only, at most `limit` characters: the server's words go into messages.
std::string one_line(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char c : text.substr(0, limit)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > limit) out += "...";
  return out;
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return std::string(text);
}

std::size_t take_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<CloudAnswer*>(user);
  const std::size_t bytes = size * count;
  if (answer->body.size() + bytes > answer->limit) {
    answer->too_large = true;
    return 0;  // libcurl ends the transfer
  }
  // As bytes: inserting chars into a vector of uint8_t copied them one at a time.
  const auto* first = reinterpret_cast<const std::uint8_t*>(data);
  answer->body.insert(answer->body.end(), first, first + bytes);
  return bytes;
}

std::size_t take_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<CloudAnswer*>(user);
  const std::size_t bytes = size * count;
  answer->header_bytes += bytes;
  if (answer->header_bytes > kMaxHeaderBytes) {
    answer->too_large = true;
    return 0;  // libcurl ends the transfer
  }
  const std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {  // a new answer's head (after a 100 Continue, say)
    answer->etag.clear();
    answer->retry_after.reset();
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string value = trimmed(line.substr(colon + 1));
  if (name == "etag") {
    answer->etag = value.size() >= 2 && value.front() == '"' && value.back() == '"'
                       ? value.substr(1, value.size() - 2)
                       : value;
  } else if (name == "content-length") {
    // The body's buffer made once at its size (within the limit) instead of grown by
    // doubling through a 16 MiB file: each doubling faulted in fresh pages and copied.
    std::size_t length = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (error == std::errc{} && end == value.data() + value.size() && length <= answer->limit)
      answer->body.reserve(length);
  } else if (name == "retry-after") {
    long seconds = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error == std::errc{} && end == value.data() + value.size() && seconds >= 0)
      answer->retry_after = seconds;
  }
  return bytes;
}

// The server's error text: {"error": "..."} as host/http answers every refusal, or the
// first line of whatever else came.
std::string error_text(const CloudAnswer& answer) {
  const std::string body = answer.text();
  const Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string())
    return one_line(parsed["error"].get<std::string>(), 300);
  return one_line(body.substr(0, body.find('\n')), 200);
}

[[noreturn]] void refuse(const CloudCall& call, const CloudAnswer& answer) {
  const std::string text = error_text(answer);
  throw CloudError(
      "idvault-cloud answered " + std::to_string(answer.status) + " to " + call.method + " " +
          one_line(call.target, 200) + (text.empty() ? "" : ": " + text),
      answer.status, answer.retry_after,
      std::string(answer.body.begin(),
                  answer.body.begin() +
                      static_cast<std::ptrdiff_t>(std::min(answer.body.size(), kErrorBodyKept))));
}

[[noreturn]] void malformed(const CloudCall& call, const CloudAnswer& answer,
                            const std::string& why) {
  throw CloudError("idvault-cloud's answer to " + call.method + " " + one_line(call.target, 200) +
                       " is not what the route answers: " + why,
                   answer.status, answer.retry_after,
                   std::string(answer.body.begin(),
                               answer.body.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                         answer.body.size(), kErrorBodyKept))));
}

bool success(const CloudAnswer& answer) noexcept {
  return answer.status >= 200 && answer.status <= 299;
}

// A 404 for a route the server does not have is not an absent object.
bool absent(const CloudAnswer& answer) {
  return answer.status == 404 && error_text(answer) != "no such route";
}

// The answer's JSON object; a malformed one is a CloudError naming the route.
Json json_of(const CloudCall& call, const CloudAnswer& answer) {
  Json parsed = Json::parse(answer.body.begin(), answer.body.end(), nullptr, false);
  if (!parsed.is_object()) malformed(call, answer, "not a JSON object");
  return parsed;
}

template <typename T>
T field(const CloudCall& call, const CloudAnswer& answer, const Json& object, const char* name) {
  try {
    return object.at(name).get<T>();
  } catch (const Json::exception&) {
    malformed(call, answer, std::string("no \"") + name + "\" of the right type");
  }
}

vault::Bytes base64_field(const CloudCall& call, const CloudAnswer& answer, const Json& object,
                          const char* name) {
  const auto text = field<std::string>(call, answer, object, name);
  try {
    return base64_decode(text, name);
  } catch (const FormatError& e) {
    malformed(call, answer, e.what());
  }
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CloudClient::CloudClient(std::string base_url, Options options)
    : base_url_(std::move(base_url)), options_(std::move(options)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  CurlOwner<CURLU> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, base_url_.c_str(), 0) != CURLUE_OK)
    throw FormatError("cloud URL", "not a URL: " + one_line(base_url_, 200));
  const auto part = [&](CURLUPart which) -> std::optional<std::string> {
    char* raw = nullptr;
    if (curl_url_get(parsed.get(), which, &raw, 0) != CURLUE_OK || raw == nullptr)
      return std::nullopt;
    const CurlOwner<char> owned(raw);
    return std::string(raw);
  };
  const auto scheme = part(CURLUPART_SCHEME);
  const auto path = part(CURLUPART_PATH);
  if ((scheme != "http" && scheme != "https") || (path && *path != "/" && !path->empty()) ||
      part(CURLUPART_QUERY) || part(CURLUPART_FRAGMENT) || part(CURLUPART_USER)) {
    throw FormatError(
        "cloud URL", "must be http(s)://host[:port] and nothing more: " + one_line(base_url_, 200));
  }
  multi_ = std::make_unique<CurlMulti>();
  multi_->handle.reset(curl_multi_init());
  if (!multi_->handle) throw CloudError("cannot start libcurl", 0, std::nullopt, {});
}

CloudClient::~CloudClient() = default;

void CloudClient::cancel() noexcept {
  cancelled_.store(true);
  curl_multi_wakeup(multi_->handle.get());
}

void CloudClient::reset_cancel() noexcept {
  cancelled_.store(false);
}

CloudAnswer CloudClient::perform(const CloudCall& call) {
  const auto no_answer = [&](const std::string& why) {
    return CloudError("no answer from idvault-cloud at " + one_line(base_url_, 200) + " to " +
                          call.method + " " + one_line(call.target, 200) + ": " + why,
                      0, std::nullopt, {});
  };
  if (cancelled_.load()) throw no_answer("cancelled");
  CloudAnswer answer;
  answer.limit = call.max_answer;
  CurlOwner<CURL> easy(curl_easy_init());
  if (!easy) throw no_answer("cannot start libcurl");
  CurlOwner<curl_slist> headers;
  const auto add_header = [&](const std::string& line) {
    curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
    if (grown == nullptr) throw no_answer("out of memory");
    (void)headers.release();
    headers.reset(grown);
  };
  for (const std::string& line : call.headers) add_header(line);
  add_header("Expect:");  // the whole body at once: no 100-continue round trip
  if (call.signed_request && signer_ != nullptr) {
    const std::string signature =
        call.body_sha256.empty()
            ? signer_->sign(call.method, call.target, call.body, now_seconds())
            : signer_->sign_hashed(call.method, call.target, call.body_sha256, now_seconds());
    add_header(std::string(vault::kRequestSignatureHeader) + ": " + signature);
  }
  const std::string url = base_url_ + call.target;
  char reason[CURL_ERROR_SIZE] = {};
  CURL* handle = easy.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_PATH_AS_IS, 1L);  // the target as signed, not normalised
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());
  const std::string local = "host!" + local_address_;
  if (!local_address_.empty()) curl_easy_setopt(handle, CURLOPT_INTERFACE, local.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  if (call.method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    if (call.method != "DELETE" || !call.body.empty()) {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, call.body.data());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(call.body.size()));
    }
  }
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(call.max_answer));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, take_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, take_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &answer);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(
      handle, CURLOPT_TIMEOUT_MS,
      static_cast<long>((timeout + std::chrono::milliseconds(call.extra_time)).count()));

  CURLM* multi = multi_->handle.get();
  if (curl_multi_add_handle(multi, handle) != CURLM_OK) throw no_answer("cannot start libcurl");
  // Detached from the multi handle however this ends, before the easy handle is freed.
  struct Detach {
    Detach(CURLM* m, CURL* e) noexcept : multi(m), easy(e) {}
    ~Detach() { curl_multi_remove_handle(multi, easy); }
    Detach(const Detach&) = delete;  // detaches once
    Detach& operator=(const Detach&) = delete;
    Detach(Detach&&) = delete;
    Detach& operator=(Detach&&) = delete;
    CURLM* multi;
    CURL* easy;
  } const detach{multi, handle};
  CURLcode result = CURLE_OK;
  for (;;) {
    if (cancelled_.load()) throw no_answer("cancelled");
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) throw no_answer("libcurl failed");
    int queued = 0;
    bool done = false;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE && message->easy_handle == handle) {
        result = message->data.result;
        done = true;
      }
    }
    if (done) break;
    // Sleeps until there is something to do on the socket, cancel() wakes it, or a second
    // passes (libcurl's own timers are kept by curl_multi_perform).
    if (curl_multi_poll(multi, nullptr, 0, 1000, nullptr) != CURLM_OK)
      throw no_answer("libcurl failed");
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &answer.status);
  if (answer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    throw CloudError("idvault-cloud's answer to " + call.method + " " + one_line(call.target, 200) +
                         " is over " + std::to_string(call.max_answer) + " bytes: refused",
                     answer.status, answer.retry_after, {});
  }
  if (result != CURLE_OK)
    throw no_answer(reason[0] != '\0' ? std::string(reason) : curl_easy_strerror(result));
  return answer;
}

std::string CloudClient::create_account(const std::string& genesis_entry) {
  const CloudCall call{
      "POST", "/v1/accounts", bytes_of(genesis_entry), {"Content-Type: application/json"}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  auto account = field<std::string>(call, answer, json_of(call, answer), "account");
  if (account != vault::sha256_hex(bytes_of(genesis_entry)))
    malformed(call, answer, "the account id is not the genesis entry's hash");
  return account;
}

std::vector<std::string> CloudClient::log(const std::string& account, std::uint64_t from) {
  const CloudCall call{"GET", account_path(account, "/log?from=" + std::to_string(from)), {}, {}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  return field<std::vector<std::string>>(call, answer, json_of(call, answer), "entries");
}

CloudClient::Appended CloudClient::append_log(const std::string& account,
                                              const std::string& entry) {
  const CloudCall call{
      "POST", account_path(account, "/log"), bytes_of(entry), {"Content-Type: application/json"}};
  const CloudAnswer answer = perform(call);
  if (answer.status == 409) {
    return {false, field<std::uint64_t>(call, answer, json_of(call, answer), "length")};
  }
  if (!success(answer)) refuse(call, answer);
  return {true, field<std::uint64_t>(call, answer, json_of(call, answer), "seq") + 1};
}

std::vector<std::pair<std::string, vault::Bytes>> CloudClient::slots(const std::string& account) {
  const CloudCall call{"GET", account_path(account, "/slots"), {}, {}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  const Json listed = json_of(call, answer);
  if (!listed.contains("slots") || !listed["slots"].is_array())
    malformed(call, answer, "no \"slots\" list");
  std::vector<std::pair<std::string, vault::Bytes>> slots;
  for (const Json& slot : listed["slots"]) {
    if (!slot.is_object()) malformed(call, answer, "a slot is not an object");
    slots.emplace_back(field<std::string>(call, answer, slot, "id"),
                       base64_field(call, answer, slot, "bytes"));
  }
  return slots;
}

std::optional<vault::Bytes> CloudClient::slot(const std::string& account, const std::string& id) {
  const CloudCall call{"GET", account_path(account, "/slots/" + checked_id(id, "slot")), {}, {}};
  CloudAnswer answer = perform(call);
  if (absent(answer)) return std::nullopt;
  if (!success(answer)) refuse(call, answer);
  return std::move(answer.body);
}

void CloudClient::put_slot(const std::string& account, const std::string& id,
                           vault::ByteView sealed) {
  const CloudCall call{"PUT",
                       account_path(account, "/slots/" + checked_id(id, "slot")),
                       sealed,
                       {"Content-Type: application/octet-stream"}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
}

void CloudClient::delete_slot(const std::string& account, const std::string& id) {
  const CloudCall call{"DELETE", account_path(account, "/slots/" + checked_id(id, "slot")), {}, {}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
}

namespace {

// What an item write answers: 200 with the new revision, or 409 with the current one.
CloudClient::ItemWrite item_write(const CloudCall& call, const CloudAnswer& answer, bool deleting) {
  if (answer.status == 409) {
    const Json current = json_of(call, answer);
    return {false, field<std::string>(call, answer, current, "current_revision"),
            field<bool>(call, answer, current, "deleted")};
  }
  if (!success(answer)) refuse(call, answer);
  const std::string revision =
      !answer.etag.empty() ? answer.etag
                           : field<std::string>(call, answer, json_of(call, answer), "revision");
  return {true, revision, deleting};
}

}  // namespace

CloudClient::ItemWrite CloudClient::put_item(const std::string& account, const std::string& item,
                                             vault::ByteView bytes,
                                             const std::optional<std::string>& based_on) {
  const CloudCall call{
      "PUT",
      account_path(account, "/items/" + checked_id(item, "item")),
      bytes,
      {"Content-Type: application/octet-stream",
       based_on ? "If-Match: \"" + checked_id(*based_on, "revision") + "\"" : "If-None-Match: *"}};
  return item_write(call, perform(call), false);
}

CloudClient::ItemWrite CloudClient::delete_item(const std::string& account, const std::string& item,
                                                const std::string& based_on) {
  const CloudCall call{"DELETE",
                       account_path(account, "/items/" + checked_id(item, "item")),
                       {},
                       {"If-Match: \"" + checked_id(based_on, "revision") + "\""}};
  return item_write(call, perform(call), true);
}

std::optional<CloudClient::Item> CloudClient::item(const std::string& account,
                                                   const std::string& id) {
  const CloudCall call{"GET", account_path(account, "/items/" + checked_id(id, "item")), {}, {}};
  CloudAnswer answer = perform(call);
  if (absent(answer)) return std::nullopt;
  if (answer.status == 410) {
    std::string revision = answer.etag;
    if (revision.empty())
      revision = field<std::string>(call, answer, json_of(call, answer), "revision");
    return Item{{}, std::move(revision), true};
  }
  if (!success(answer)) refuse(call, answer);
  if (answer.etag.empty()) malformed(call, answer, "no ETag");
  return Item{std::move(answer.body), answer.etag, false};
}

std::string CloudClient::put_file(const std::string& account, vault::ByteView ciphertext) {
  std::string name = vault::sha256_hex(ciphertext);
  CloudCall call{"PUT",
                 account_path(account, "/files/" + name),
                 ciphertext,
                 {"Content-Type: application/octet-stream"}};
  call.body_sha256 = name;  // signed by the hash it is named by, not hashed again
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  return name;
}

vault::Bytes CloudClient::file(const std::string& account, const std::string& sha256_hex) {
  if (sha256_hex.size() != 64 || !std::all_of(sha256_hex.begin(), sha256_hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    throw FormatError("file", "a file's name is its SHA-256 in lowercase hex");
  }
  CloudCall call{"GET", account_path(account, "/files/" + sha256_hex), {}, {}};
  call.max_answer = kMaxFileAnswerBytes;
  CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  if (vault::sha256_hex(answer.body) != sha256_hex)
    malformed(call, answer, "the bytes do not hash to the file's name");
  return std::move(answer.body);
}

CloudClient::Changes CloudClient::changes(const std::string& account, std::int64_t since,
                                          std::chrono::seconds wait) {
  CloudCall call{"GET",
                 account_path(account, "/changes?since=" + std::to_string(since) +
                                           "&wait=" + std::to_string(wait.count())),
                 {},
                 {}};
  call.extra_time = wait;
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  const Json listed = json_of(call, answer);
  if (!listed.contains("changes") || !listed["changes"].is_array())
    malformed(call, answer, "no \"changes\" list");
  Changes changes{{}, field<std::int64_t>(call, answer, listed, "counter")};
  for (const Json& change : listed["changes"]) {
    if (!change.is_object()) malformed(call, answer, "a change is not an object");
    changes.changes.push_back({field<std::string>(call, answer, change, "kind"),
                               field<std::string>(call, answer, change, "id"),
                               field<std::int64_t>(call, answer, change, "counter")});
  }
  return changes;
}

CloudClient::JoinRequest CloudClient::request_join(const std::string& account,
                                                   const std::string& device_id,
                                                   vault::ByteView identity_key,
                                                   vault::ByteView slot_key,
                                                   const std::string& nonce) {
  JoinRequest request;
  request.device_id = checked_id(device_id, "device_id");
  request.identity_key.assign(identity_key.begin(), identity_key.end());
  request.slot_key.assign(slot_key.begin(), slot_key.end());
  request.nonce = nonce;
  const std::string body = Json{
      {"device_id", device_id},
      {"identity_key", base64_encode(identity_key)},
      {"slot_key", base64_encode(slot_key)},
      {"nonce", nonce}}.dump();
  CloudCall call{"POST",
                 account_path(account, "/join-requests"),
                 bytes_of(body),
                 {"Content-Type: application/json"}};
  call.signed_request = false;
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  const Json made = json_of(call, answer);
  request.id = field<std::string>(call, answer, made, "id");
  request.expires = field<std::int64_t>(call, answer, made, "expires");
  return request;
}

std::vector<CloudClient::JoinRequest> CloudClient::join_requests(const std::string& account) {
  const CloudCall call{"GET", account_path(account, "/join-requests"), {}, {}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
  const Json listed = json_of(call, answer);
  if (!listed.contains("requests") || !listed["requests"].is_array())
    malformed(call, answer, "no \"requests\" list");
  std::vector<JoinRequest> requests;
  for (const Json& entry : listed["requests"]) {
    if (!entry.is_object()) malformed(call, answer, "a request is not an object");
    requests.push_back({field<std::string>(call, answer, entry, "id"),
                        field<std::string>(call, answer, entry, "device_id"),
                        base64_field(call, answer, entry, "identity_key"),
                        base64_field(call, answer, entry, "slot_key"),
                        field<std::string>(call, answer, entry, "nonce"),
                        field<std::int64_t>(call, answer, entry, "created"),
                        field<std::int64_t>(call, answer, entry, "expires")});
  }
  return requests;
}

std::optional<std::string> CloudClient::join_status(const std::string& account,
                                                    const std::string& id) {
  CloudCall call{
      "GET", account_path(account, "/join-requests/" + checked_id(id, "join request")), {}, {}};
  call.signed_request = false;
  const CloudAnswer answer = perform(call);
  if (absent(answer)) return std::nullopt;
  if (!success(answer)) refuse(call, answer);
  return field<std::string>(call, answer, json_of(call, answer), "status");
}

void CloudClient::decline_join(const std::string& account, const std::string& id) {
  const CloudCall call{
      "DELETE", account_path(account, "/join-requests/" + checked_id(id, "join request")), {}, {}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
}

void CloudClient::put_recovery_key(const std::string& account, vault::ByteView envelope) {
  const CloudCall call{"PUT",
                       account_path(account, "/recovery-key"),
                       envelope,
                       {"Content-Type: application/octet-stream"}};
  const CloudAnswer answer = perform(call);
  if (!success(answer)) refuse(call, answer);
}

std::optional<vault::Bytes> CloudClient::recovery_key(const std::string& account) {
  CloudCall call{"GET", account_path(account, "/recovery-key"), {}, {}};
  call.signed_request = false;
  CloudAnswer answer = perform(call);
  if (absent(answer)) return std::nullopt;
  if (!success(answer)) refuse(call, answer);
  return std::move(answer.body);
}

}  // namespace idvault::cloud
