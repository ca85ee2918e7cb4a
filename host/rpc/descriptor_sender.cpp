#include "host/rpc/descriptor_sender.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace idvault::rpc {

ssize_t send_with_descriptors(int socket, std::span<const std::uint8_t> bytes,
                              std::span<const int> descriptors) {
  std::vector<char> control(CMSG_SPACE(sizeof(int) * descriptors.size()));
  iovec from{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};  // sendmsg does not write it
  msghdr message{};
  message.msg_iov = &from;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * descriptors.size());
  std::memcpy(CMSG_DATA(header), descriptors.data(), sizeof(int) * descriptors.size());
  ssize_t sent = -1;
  do {
    sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent;
}

}  // namespace idvault::rpc
