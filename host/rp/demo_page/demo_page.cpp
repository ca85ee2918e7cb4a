#include "host/rp/demo_page/demo_page.h"

#include "host/rp/demo_page/page_files.h"

namespace idvault::rp {
namespace {

std::string escaped_html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr std::string_view kAsksForMark = "@ASKS_FOR@";

}  // namespace

std::string demo_page_html(std::string_view asks_for) {
  std::string page(demo_page_files::kPageHtml);
  page.replace(page.find(kAsksForMark), kAsksForMark.size(), escaped_html(asks_for));
  return page;
}

const std::string& demo_page_script() {
  static const std::string kScript(demo_page_files::kPageJs);
  return kScript;
}

}  // namespace idvault::rp
