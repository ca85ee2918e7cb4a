// Whether a token URI given to the CLI (`idvault init --token URI`) names the token the
// agent is set to use: matched as RFC 7512 says, by p11-kit, on the token descriptions
// the agent reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace idvault::cli {

// Throws UsageError for a malformed URI, OperationFailed when no token the agent sees
// matches it or when the agent's own token URI picks a different token.
void check_agent_uses_token(const std::string& uri, const nlohmann::json& agent_tokens,
                            const std::string& agent_token_uri);

}  // namespace idvault::cli
