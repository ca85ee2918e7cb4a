#include "host/rpc/attachment_announcement.h"

#include "host/rpc/json_line_parser.h"

namespace idvault::rpc {

AttachmentAnnouncement announced_attachments(std::string_view line) {
  if (line.find("\"attachments\"") == std::string_view::npos) return NoAttachments{};
  nlohmann::json message = parse_json_line(line);
  if (!message.is_object()) return NoAttachments{};
  auto member = message.find("attachments");
  if (member == message.end()) return NoAttachments{};
  if (!member->is_array()) return BadAnnouncement{"attachments: expected an array of byte counts"};
  if (member->size() > kMaxAttachments) {
    return BadAnnouncement{"attachments: at most " + std::to_string(kMaxAttachments) + " per request"};
  }
  std::vector<std::size_t> sizes;
  sizes.reserve(member->size());
  for (const auto& size : *member) {
    // Unsigned only: nlohmann keeps a negative integer signed and 2.0 a float.
    if (!size.is_number_unsigned()) {
      return BadAnnouncement{"attachments: each size must be a non-negative integer"};
    }
    sizes.push_back(size.get<std::size_t>());
  }
  // The params (may be a PIN beside the sizes) are not needed here.
  wipe_json_strings(message);
  return sizes;
}

}  // namespace idvault::rpc
