#include "host/agent/share_consent.h"

#include "common/base64.h"
#include "common/quoted_text.h"
#include "host/http/curl_owner.h"
#include "vault/model/scope_description.h"
#include "vault/signed/share_receipt.h"

namespace idvault::agent {
namespace {

// Enough of a fingerprint to compare by eye, as ssh shows a key's; the details carry it whole.
std::string short_fingerprint(const std::string& hex) {
  return hex.substr(0, 16);
}

std::string offer_parts_text(const vault::ShareOffer& offer) {
  std::string text;
  for (auto type : offer.types) {
    if (!text.empty()) text += "; ";
    text += vault::describe_element(type, offer.parts.at(type));
  }
  if (!offer.missing.empty()) {
    text += "; not in the vault:";
    for (const auto& missing : offer.missing) text += " " + missing;
  }
  return text;
}

}  // namespace

nlohmann::json offer_to_json(const vault::ShareOffer& offer) {
  nlohmann::json elements = nlohmann::json::array();
  for (auto type : offer.types) {
    nlohmann::json element = {{"type", vault::to_string(type)}, {"parts", offer.parts.at(type)}};
    if (const auto version = offer.versions.find(type); version != offer.versions.end()) {
      element["version"] = base64_encode(version->second);
    }
    elements.push_back(std::move(element));
  }
  return {{"elements", elements}, {"missing", offer.missing}};
}

std::string callback_host(const std::string& url) {
  const http::CurlOwner<CURLU> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
  char* raw = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  const http::CurlOwner<char> host(raw);
  return host.get();
}

const char* to_string(ServiceKeyHistory history) noexcept {
  switch (history) {
    case ServiceKeyHistory::first_use:
      return "first_use";
    case ServiceKeyHistory::known:
      return "known";
    case ServiceKeyHistory::changed:
      return "changed";
  }
  return "changed";
}

ConsentRequest share_consent(const vault::AuthorizationRequest& request,
                             const vault::ShareOffer& offer,
                             const std::optional<std::string>& known_key_sha256) {
  const std::string key = vault::service_key_fingerprint(request.public_key_pem);
  const ServiceKeyHistory history = !known_key_sha256          ? ServiceKeyHistory::first_use
                                    : *known_key_sha256 == key ? ServiceKeyHistory::known
                                                               : ServiceKeyHistory::changed;
  const std::string host =
      request.callback_url ? callback_host(*request.callback_url) : std::string();
  // The service id and host come from the link: quoted, so a crafted one cannot fake the
  // rest of the line (a key, a second sentence) to the person reading it.
  const std::string service = quote_untrusted(request.service_id);
  std::string summary;
  if (history == ServiceKeyHistory::changed) {
    summary = "WARNING: service " + service + " now uses a DIFFERENT KEY (was " +
              short_fingerprint(*known_key_sha256) + ", now " + short_fingerprint(key) +
              "): someone may be posing as it. ";
  }
  summary += "Share with service " + service + " (key " + short_fingerprint(key) +
             (history == ServiceKeyHistory::first_use ? ", first share" : "") + "; callback " +
             (request.callback_url ? quote_untrusted(host) : std::string("none")) +
             "): " + offer_parts_text(offer) + "?";

  ConsentRequest consent{std::move(summary), offer_to_json(offer)};
  consent.details["service_id"] = request.service_id;
  consent.details["service_key_sha256"] = key;
  consent.details["service_key_history"] = to_string(history);
  if (history == ServiceKeyHistory::changed)
    consent.details["previous_service_key_sha256"] = *known_key_sha256;
  if (request.callback_url) {
    consent.details["callback_url"] = *request.callback_url;
    consent.details["callback_host"] = host;
  }
  return consent;
}

}  // namespace idvault::agent
