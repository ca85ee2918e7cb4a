// The sending half of passing open files over the agent's socket (SCM_RIGHTS, announced
// as "fd" attachments: attachment_announcement.h); the receiving half is the server's
// (rpc_server.cpp). Every client of ours sends through this one function; the test
// client (tests/host/rpc_test_client.h) keeps an independent copy on purpose.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

namespace idvault::rpc {

// One sendmsg of the first bytes of `bytes` with `descriptors` attached (they travel with
// the first byte the peer reads), retried on EINTR, without SIGPIPE. Returns how many
// bytes went, which the caller follows with the rest; -1 with errno set on failure.
// `bytes` must not be empty: descriptors cannot travel alone on a stream socket.
[[nodiscard]] ssize_t send_with_descriptors(int socket, std::span<const std::uint8_t> bytes,
                                            std::span<const int> descriptors);

}  // namespace idvault::rpc
