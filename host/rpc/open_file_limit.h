// Descriptor shortage at the accept loops of the agent and idvault-rp serve.
//
// A listening socket with a connection waiting stays readable while accept4 fails with
// EMFILE: a loop that polls it again at once spins at full CPU and serves no one. So a
// server raises its own limit at start, and on a shortage stops watching the listener
// for accept_backoff (the waiting clients stay in the backlog until descriptors free up).
#pragma once

#include <chrono>

namespace idvault::rpc {

// Raises the soft RLIMIT_NOFILE to the hard limit (the usual soft limit, 1024, equals
// the agent's connection cap). Best effort: a limit that cannot be raised stays.
void raise_open_file_limit() noexcept;

// accept4's errno says the process or the system is out of descriptors or memory, which
// waiting, not retrying, cures.
[[nodiscard]] bool is_descriptor_shortage(int error) noexcept;

inline constexpr std::chrono::milliseconds accept_backoff{100};

}  // namespace idvault::rpc
