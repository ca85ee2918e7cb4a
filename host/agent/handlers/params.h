// Reading a request's params the same way in every handler: a missing or mistyped member
// is RpcError(invalid_params) naming it, and a secret leaves the JSON for SecretBytes.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/secret_bytes.h"
#include "vault/model/element_type.h"

namespace idvault::agent {

// Moves a PIN or password out of the params into a SecretBytes and wipes the JSON string
// it came in; nullopt when the member is absent or null.
[[nodiscard]] std::optional<SecretBytes> take_secret(nlohmann::json& params, const char* name);
// take_secret("pin"), required.
[[nodiscard]] SecretBytes take_pin(nlohmann::json& params);
// A boolean member; absent or null is false.
[[nodiscard]] bool flag(const nlohmann::json& params, const char* name);
// A required string member.
[[nodiscard]] std::string text(const nlohmann::json& params, const char* name);
// The "type" member, a known element type.
[[nodiscard]] vault::ElementType type_param(const nlohmann::json& params);

}  // namespace idvault::agent
