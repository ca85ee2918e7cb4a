// The relying party's demo page: a "Share with idvault" button that asks the server for
// a request (link + QR code), then polls for the holder's share and shows the verified
// data, the files as thumbnails, the receipt and the attestations. Holder data is only
// ever put into the page as text (textContent), never as markup. The page's fetches send
// the request's read token (an HttpOnly cookie set by GET /request) without the script
// ever seeing it; the result is read once, its thumbnails right after.
//
// The page and its script are page.html and page.js in this folder, embedded at build time.
#pragma once

#include <string>
#include <string_view>

namespace idvault::rp {

// asks_for: what the service asks for, in the consent prompt's words
// (vault::describe_scope); escaped here.
[[nodiscard]] std::string demo_page_html(std::string_view asks_for);
[[nodiscard]] const std::string& demo_page_script();

}  // namespace idvault::rp
