// The "attachments" member a request line may carry (docs/AGENT.md, "Attachments"):
// {"jsonrpc":"2.0","id":1,"method":"element.put","attachments":[2097152,1048576],
//  "params":{"files":[{"attachment":0},{"attachment":1}]}}
// followed on the socket by exactly that many raw bytes per attachment, in order.
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

struct NoAttachments {};
struct BadAnnouncement {
  std::string message;  // what is wrong, for the error answer before the connection closes
};
using AttachmentAnnouncement = std::variant<NoAttachments, std::vector<std::size_t>, BadAnnouncement>;

// The sizes a line announces. A line that is not a JSON object, or has no top-level
// "attachments" member, announces none (the worker then answers it as usual). A member
// that is not an array of at most kMaxAttachments non-negative integers is bad: the
// stream that follows cannot be framed, so the connection is answered and closed.
[[nodiscard]] AttachmentAnnouncement announced_attachments(std::string_view line);

}  // namespace idvault::rpc
