#include "host/rpc/attachment_announcement.h"

#include "common/json_fields.h"
#include "host/rpc/json_line_parser.h"

namespace idvault::rpc {

AttachmentAnnouncement announced_attachments(std::string_view line) {
  if (line.find("\"attachments\"") == std::string_view::npos) return NoAttachments{};
  nlohmann::json message = parse_json_line(line);
  if (!message.is_object()) return NoAttachments{};
  auto member = message.find("attachments");
  if (member == message.end()) return NoAttachments{};
  if (!member->is_array())
    return BadAnnouncement{"attachments: expected an array of byte counts or \"fd\""};
  if (member->size() > kMaxAttachments) {
    return BadAnnouncement{"attachments: at most " + std::to_string(kMaxAttachments) +
                           " per request"};
  }
  std::vector<AnnouncedAttachment> announced;
  announced.reserve(member->size());
  std::size_t descriptors = 0;
  for (const auto& entry : *member) {
    if (entry.is_string() && entry.get_ref<const std::string&>() == "fd") {
      if (++descriptors > kMaxDescriptors) {
        return BadAnnouncement{"attachments: at most " + std::to_string(kMaxDescriptors) +
                               " descriptors per request"};
      }
      announced.push_back({true, 0});
      continue;
    }
    // Unsigned only: nlohmann keeps a negative integer signed and 2.0 a float.
    if (!entry.is_number_unsigned()) {
      return BadAnnouncement{"attachments: each entry must be a non-negative byte count or \"fd\""};
    }
    announced.push_back({false, entry.get<std::size_t>()});
  }
  // The params (may be a PIN beside the sizes) are not needed here.
  json_fields::wipe_strings(message);
  return announced;
}

}  // namespace idvault::rpc
