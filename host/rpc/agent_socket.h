// Where the agent listens and how the socket is made safe: a 0700 directory we own, a
// 0600 socket, a stale socket replaced only when nothing answers on it, or the socket
// systemd handed us (LISTEN_FDS/LISTEN_PID), as ssh-agent and p11-kit server do. The
// client checks the other way round (check_socket_folder, check_agent_peer) before it
// sends anything: a folder another user could write to, or an agent run by another
// user, is someone waiting for a PIN.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace idvault::rpc {

// $IDVAULT_SOCK if set, else $XDG_RUNTIME_DIR/idvault/agent.sock, else
// /tmp/idvault-<uid>/agent.sock (a private directory, checked like the others: in /tmp
// anyone may make that folder first, so it is used only if it is ours and closed).
[[nodiscard]] std::filesystem::path default_socket_path();

// Throws std::runtime_error naming the folder unless the folder holding socket_path is
// a directory owned by us (or root) that neither group nor others may write to.
void check_socket_folder(const std::filesystem::path& socket_path);

// Throws std::runtime_error naming socket_path unless the process at the other end of
// the connected socket_fd runs as our effective uid or as root (SO_PEERCRED).
void check_agent_peer(int socket_fd, const std::filesystem::path& socket_path);

// Creates the directory (0700, must be ours; one that group or others may write to is
// refused: they could have put anything in it) and a listening socket (0600).
// Throws std::runtime_error with a message naming the path on any failure, including
// another agent already answering there.
[[nodiscard]] int listen_on_path(const std::filesystem::path& path);

// The first socket systemd passed, if LISTEN_PID is us and LISTEN_FDS >= 1. Throws
// std::runtime_error when they say so but fd 3 is not a listening socket.
[[nodiscard]] std::optional<int> socket_from_systemd();

}  // namespace idvault::rpc
