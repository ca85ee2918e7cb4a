// The relying party's demo page: a "Share with idvault" button that asks the server for
// a request (link + QR code), then polls for the holder's share and shows the verified
// data, the files as thumbnails, the receipt and the attestations. Holder data is only
// ever put into the page as text (textContent), never as markup.
#pragma once

#include <string>

namespace idvault::rp {

[[nodiscard]] const std::string& demo_page_html();
[[nodiscard]] const std::string& demo_page_script();

}  // namespace idvault::rp
