// An element as the socket API carries it: data as a JSON object, the plain value of
// phone_number/email as "value", each file as base64.
//   {"type":"passport","data":{...},"front_side":"B64","selfie":"B64","translation":["B64"]}
#pragma once

#include <nlohmann/json.hpp>

#include "vault/holder_vault.h"
#include "vault/passport_encryptor.h"

namespace idvault::agent {

// Throws RpcError(invalid_params) naming the member for a wrong shape or bad base64.
[[nodiscard]] vault::PlainElement element_from_params(const nlohmann::json& params);
[[nodiscard]] nlohmann::json element_to_json(const vault::PlainElement& element);
[[nodiscard]] nlohmann::json summary_to_json(const vault::ElementSummary& summary);

}  // namespace idvault::agent
