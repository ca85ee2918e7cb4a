#include "host/rp/service/qr_svg.h"

#include <qrencode.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace idvault::rp {
namespace {

struct QrFree {
  void operator()(QRcode* code) const noexcept { QRcode_free(code); }
};
using QrCode = std::unique_ptr<QRcode, QrFree>;

constexpr int kQuietZone = 4;

}  // namespace

std::string qr_svg(std::string_view text) {
  const std::string data(text);
  QrCode code(QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M));
  if (!code) throw std::runtime_error("the link does not fit in a QR code");
  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  std::string path;
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      // Bit 0 of each module byte is "dark"; the other bits describe the module's role.
      if ((code->data[y * width + x] & 1) != 0) {
        path += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) +
                "h1v1h-1z";
      }
    }
  }
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(size) + " " +
         std::to_string(size) +
         "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code of the request "
         "link\">" +
         "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path +
         "\"/></svg>";
}

}  // namespace idvault::rp
