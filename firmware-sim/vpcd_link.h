// VpcdLink: the TCP connection to pcscd's virtual reader driver (vpcd), as a card sees it.
// Framing both ways is a big-endian uint16 length followed by that many bytes
// (reference/token-stack.md §3). Closing the link is how a card is pulled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "firmware-sim/bytes.h"
#include "firmware-sim/unique_fd.h"

namespace idvault::cardsim {

struct VpcdEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 35963;
};

// "HOST:PORT" -> endpoint. Throws CardsimError with a clear message.
[[nodiscard]] VpcdEndpoint parse_vpcd_endpoint(const std::string& text);

class VpcdLink {
 public:
  // One attempt; nullopt if nobody listens (yet). Throws on an unresolvable host.
  [[nodiscard]] static std::optional<VpcdLink> try_connect(const VpcdEndpoint& endpoint);
  // Adopts a connected stream socket (tests use a socketpair).
  explicit VpcdLink(UniqueFd fd) : fd_(std::move(fd)) {}

  [[nodiscard]] int fd() const { return fd_.get(); }

  // Blocks until one whole frame has arrived. nullopt when vpcd closed the connection.
  [[nodiscard]] std::optional<Bytes> receive_frame();
  // Sends one frame. Refuses an empty payload: vpcd takes a zero-length reply as card
  // removal. Throws CardsimError if the connection is gone.
  void send_frame(ByteView payload);

 private:
  UniqueFd fd_;
};

}  // namespace idvault::cardsim
