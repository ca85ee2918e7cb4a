// What a decrypted file is, judged by its first bytes only (never by a name the sender
// chose): the Content-Type serve answers with and the extension decrypt names it with.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace idvault::rp {

// image/jpeg, image/png, application/pdf, image/svg+xml, else application/octet-stream.
[[nodiscard]] std::string content_type_of(std::span<const std::uint8_t> bytes);
// jpg, png, pdf, svg, else bin.
[[nodiscard]] std::string file_extension_of(std::span<const std::uint8_t> bytes);

}  // namespace idvault::rp
