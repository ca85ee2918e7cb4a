// Where the agent listens and how the socket is made safe: a 0700 directory we own, a
// 0600 socket, a stale socket replaced only when nothing answers on it, or the socket
// systemd handed us (LISTEN_FDS/LISTEN_PID), as ssh-agent and p11-kit server do.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace idvault::rpc {

// $IDVAULT_SOCK if set, else $XDG_RUNTIME_DIR/idvault/agent.sock, else
// /tmp/idvault-<uid>/agent.sock (a private directory, checked like the others).
[[nodiscard]] std::filesystem::path default_socket_path();

// Creates the directory (0700, must be ours) and a listening socket (0600).
// Throws std::runtime_error with a message naming the path on any failure, including
// another agent already answering there.
[[nodiscard]] int listen_on_path(const std::filesystem::path& path);

// The first socket systemd passed, if LISTEN_PID is us and LISTEN_FDS >= 1. Throws
// std::runtime_error when they say so but fd 3 is not a listening socket.
[[nodiscard]] std::optional<int> socket_from_systemd();

}  // namespace idvault::rpc
