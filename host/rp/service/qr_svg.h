// A QR code of a link as an SVG image (libqrencode makes the modules; we only draw them),
// for the demo page: a phone's wallet app scans the request instead of clicking it.
#pragma once

#include <string>
#include <string_view>

namespace idvault::rp {

// Error correction M, 8-bit mode, the smallest version that fits; a 4-module quiet zone.
// Throws std::runtime_error when the text does not fit in a QR code (about 2,300 bytes at M).
[[nodiscard]] std::string qr_svg(std::string_view text);

}  // namespace idvault::rp
