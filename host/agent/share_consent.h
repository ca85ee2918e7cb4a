// What the holder is asked before a share: who gets the data (service id, the host the
// bundle goes to, the fingerprint of the key it is encrypted to, and whether that key is
// the one this service used before) and what of each element goes.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "host/agent/consent_prompt.h"
#include "vault/model/auth_link.h"
#include "vault/store/holder_vault.h"

namespace idvault::agent {

// {"elements":[{"type","parts","version"}...],"missing":[...]}; version is the base64
// element hash of what was offered.
[[nodiscard]] nlohmann::json offer_to_json(const vault::ShareOffer& offer);

// The host of a callback URL (libcurl's parser), or "" when it has none.
[[nodiscard]] std::string callback_host(const std::string& url);

// How the key of this request compares with the one remembered for its service id.
enum class ServiceKeyHistory { first_use, known, changed };
[[nodiscard]] const char* to_string(ServiceKeyHistory history) noexcept;

// The summary (one line, starting with a warning when the key changed) and the details
// the consent program gets on its standard input: service_id, callback_url,
// callback_host, service_key_sha256 (the hex the receipt signs), service_key_history,
// previous_service_key_sha256 (when changed), elements and missing.
[[nodiscard]] ConsentRequest share_consent(const vault::AuthorizationRequest& request,
                                           const vault::ShareOffer& offer,
                                           const std::optional<std::string>& known_key_sha256);

}  // namespace idvault::agent
