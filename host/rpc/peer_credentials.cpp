#include "host/rpc/peer_credentials.h"

#include <sys/socket.h>

namespace idvault::rpc {

std::optional<PeerIdentity> peer_identity(int socket_fd) noexcept {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    return std::nullopt;
  }
  return PeerIdentity{cred.uid, cred.gid, cred.pid};
}

}  // namespace idvault::rpc
