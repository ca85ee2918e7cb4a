// page.html and page.js beside this header, as the build embedded them
// (embed_files.cmake writes their definitions into the build tree).
#pragma once

#include <string_view>

namespace idvault::rp::demo_page_files {

// The page, with @ASKS_FOR@ where demo_page_html puts the escaped scope description.
extern const std::string_view kPageHtml;
// The script the page loads from GET /demo.js.
extern const std::string_view kPageJs;

}  // namespace idvault::rp::demo_page_files
