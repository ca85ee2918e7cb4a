// The PIN options every command that logs the agent in to its token shares (init,
// unlock, recover, cloud join), and how the PIN reaches the agent.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/cli/command_line.h"
#include "common/secret_bytes.h"
#include "host/cli/agent_client.h"
#include "host/cli/secret_request.h"

namespace idvault::cli {

// --pin-file and --allow-final-try.
void add_pin_options(CommandLine& command);

// A PIN (or a recovery password) that cannot be had is something the user fixes (a file,
// a terminal): UsageError, exit 2.
[[nodiscard]] SecretBytes read_pin(const std::optional<std::string>& pin_file,
                                   const std::string& prompt);

// "PIN for token 'LABEL'", from the agent's status.
[[nodiscard]] std::string pin_prompt(AgentClient& agent);

// A request for method carrying the PIN (read as add_pin_options' options say) and
// allow_final_try; the caller adds its own parameters and calls the agent.
[[nodiscard]] SecretRequest pin_request(AgentClient& agent, const char* method,
                                        const po::variables_map& vm);

}  // namespace idvault::cli
