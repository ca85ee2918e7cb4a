// Who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED).
#pragma once

#include <sys/types.h>

#include <optional>

namespace idvault::rpc {

struct PeerIdentity {
  uid_t uid;
  gid_t gid;
  pid_t pid;
};

[[nodiscard]] std::optional<PeerIdentity> peer_identity(int socket_fd) noexcept;

}  // namespace idvault::rpc
