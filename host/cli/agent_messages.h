// The agent's JSON-RPC errors as the one line a person reads. The agent's own messages
// are written for people already; this adds what the CLI user can do about them.
#pragma once

#include <string>

#include "host/cli/agent_client.h"

namespace idvault::cli {

[[nodiscard]] std::string describe(const AgentError& error);

// Control characters out, length bounded: the text came over a socket.
[[nodiscard]] std::string one_line(std::string_view text, std::size_t limit = 400);

}  // namespace idvault::cli
