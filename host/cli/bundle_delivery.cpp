#include "host/cli/bundle_delivery.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include "common/cli/cli_error.h"
#include "host/cli/agent_messages.h"
#include "host/http/curl_owner.h"

namespace idvault::cli {
namespace {

using http::CurlOwner;

// The service's answer is only read for an error message: keep the start of it.
constexpr std::size_t kBodyKept = 4096;

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t bytes = size * count;
  if (body->size() < kBodyKept) body->append(data, std::min(bytes, kBodyKept - body->size()));
  return bytes;
}

std::string url_part(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  CurlOwner<char> owned(raw);
  return raw;
}

bool is_loopback(std::string host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

void check_callback_url(const std::string& url) {
  CurlOwner<CURLU> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    throw UsageError("callback_url is not a URL: " + one_line(url, 200));
  }
  const std::string scheme = url_part(parsed.get(), CURLUPART_SCHEME);
  const std::string host = url_part(parsed.get(), CURLUPART_HOST);
  if (scheme == "https") return;
  if (scheme == "http" && is_loopback(host)) return;
  throw UsageError("refusing to deliver over " + scheme + " to " + one_line(host, 100) +
                   ": only https://, or http:// to this machine, is allowed (use --out)");
}

long deliver_bundle(const std::string& url, const std::string& bundle_json) {
  check_callback_url(url);
  CurlOwner<CURL> easy(curl_easy_init());
  if (!easy) throw OperationFailed("cannot start libcurl");
  CurlOwner<curl_slist> headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  std::string body;
  char reason[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy.get(), CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could leave loopback
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, bundle_json.data());
  curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(bundle_json.size()));
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(easy.get(), CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  const CURLcode result = curl_easy_perform(easy.get());
  if (result != CURLE_OK) {
    throw OperationFailed(
        "cannot deliver to " + one_line(url, 200) + ": " +
        (reason[0] ? std::string(reason) : std::string(curl_easy_strerror(result))));
  }
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    const std::string first_line = body.substr(0, body.find('\n'));
    throw OperationFailed("the service at " + one_line(url, 200) + " answered HTTP " +
                          std::to_string(status) +
                          (first_line.empty() ? "" : ": " + one_line(first_line, 200)));
  }
  return status;
}

}  // namespace idvault::cli
