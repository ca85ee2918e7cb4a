// The "attachments" member a request line may carry (docs/AGENT.md, "Attachments"):
// {"jsonrpc":"2.0","id":1,"method":"element.put","attachments":[2097152,"fd"],
//  "params":{"files":[{"attachment":0},{"attachment":1}]}}
// A number announces that many raw bytes following the line on the socket (in order);
// "fd" a file descriptor the client passed (SCM_RIGHTS) with the line's bytes.
//
// The event loop must know the sizes before it can frame the next line, so it reads
// them here, on the loop thread; a line that does not spell "attachments" (every plain
// JSON-RPC request, 21 MiB of base64 included) costs one substring search.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace idvault::rpc {

inline constexpr std::size_t kMaxAttachments = 256;
// The most descriptors one sendmsg can carry on Linux (SCM_MAX_FD): a line's descriptors
// travel in one.
inline constexpr std::size_t kMaxDescriptors = 253;

struct AnnouncedAttachment {
  bool descriptor = false;  // a passed file descriptor, not bytes on the stream
  std::size_t bytes = 0;    // for bytes: how many follow
};
struct NoAttachments {};
struct BadAnnouncement {
  std::string message;  // what is wrong, for the error answer before the connection closes
};
using AttachmentAnnouncement =
    std::variant<NoAttachments, std::vector<AnnouncedAttachment>, BadAnnouncement>;

// What a line announces. A line that is not a JSON object, or has no top-level
// "attachments" member, announces nothing (the worker then answers it as usual). A
// member that is not an array of at most kMaxAttachments entries, each a non-negative
// integer or "fd", with at most kMaxDescriptors "fd", is bad: the stream that follows
// cannot be framed, so the connection is answered and closed.
[[nodiscard]] AttachmentAnnouncement announced_attachments(std::string_view line);

}  // namespace idvault::rpc
