#include "firmware-sim/vpcd_link.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <system_error>

#include "firmware-sim/errors.h"

namespace idvault::cardsim {

namespace {

struct AddrinfoDeleter {
  void operator()(addrinfo* p) const noexcept { freeaddrinfo(p); }
};

// false on orderly close before `size` bytes.
bool read_exact(int fd, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    // vpcd writes a frame's length and its body with two send() calls and leaves Nagle on,
    // so the body waits for our ACK of the length; Linux's delayed ACK would add ~40 ms to
    // every APDU. Quick-ack mode is not sticky, hence before every read.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    const ssize_t n = ::recv(fd, out + done, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // a reset counts as a close: either way the reader is gone
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

VpcdEndpoint parse_vpcd_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw CardsimError("--vpcd " + text + ": expected HOST:PORT, e.g. 127.0.0.1:35963");
  }
  VpcdEndpoint endpoint;
  endpoint.host = text.substr(0, colon);
  const std::string_view digits = std::string_view(text).substr(colon + 1);
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || port == 0 || port > 65535) {
    throw CardsimError("--vpcd " + text + ": the port must be a number from 1 to 65535");
  }
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

std::optional<VpcdLink> VpcdLink::try_connect(const VpcdEndpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_INET;  // vpcd listens on IPv4 only
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(endpoint.port);
  const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &raw);
  if (rc != 0) {
    throw CardsimError("--vpcd " + endpoint.host + ":" + port +
                       ": cannot resolve host: " + gai_strerror(rc));
  }
  const std::unique_ptr<addrinfo, AddrinfoDeleter> addresses(raw);
  for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) continue;
    // One small frame per exchange: do not let Nagle hold it back.
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return VpcdLink(std::move(fd));
  }
  return std::nullopt;
}

std::optional<Bytes> VpcdLink::receive_frame() {
  std::uint8_t header[2];
  if (!read_exact(fd_.get(), header, sizeof header)) return std::nullopt;
  const std::size_t length = (static_cast<std::size_t>(header[0]) << 8) | header[1];
  Bytes payload(length);
  if (length != 0 && !read_exact(fd_.get(), payload.data(), length)) return std::nullopt;
  return payload;
}

void VpcdLink::send_frame(ByteView payload) {
  if (payload.empty())
    throw CardsimError("refusing to send an empty vpcd frame (vpcd would eject the card)");
  if (payload.size() > 0xFFFF) throw CardsimError("vpcd frame longer than 65535 bytes");
  Bytes frame;
  frame.reserve(payload.size() + 2);
  frame.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
  frame.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
  append(frame, payload);
  std::size_t done = 0;
  while (done < frame.size()) {
    // MSG_NOSIGNAL: a reader that went away is an error to report, not a SIGPIPE.
    const ssize_t n = ::send(fd_.get(), frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw CardsimError("vpcd connection lost while sending: " +
                         std::system_category().message(errno));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace idvault::cardsim
