#include "host/rpc/compact_json.h"

#include <algorithm>
#include <array>

namespace idvault::rpc {
namespace {

// Printable ASCII but '"' and '\\': written as it is, and valid UTF-8 by construction.
constexpr std::array<bool, 256> make_plain() {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x7f; ++c) table[c] = c != '"' && c != '\\';
  return table;
}
constexpr std::array<bool, 256> kPlain = make_plain();

bool needs_no_escaping(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return kPlain[static_cast<unsigned char>(c)]; });
}

template <typename Json>
std::size_t string_bytes(const Json& value) {
  if (value.is_string()) return value.template get_ref<const std::string&>().size() + 2;
  std::size_t total = 0;
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) total += key.size() + 4 + string_bytes(member);
  } else if (value.is_array()) {
    for (const auto& element : value) total += string_bytes(element) + 1;
  }
  return total;
}

template <typename Json>
void append(const Json& value, std::string& out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto member = value.begin(); member != value.end(); ++member) {
        if (!first) out.push_back(',');
        first = false;
        append(Json(member.key()), out);
        out.push_back(':');
        append(member.value(), out);
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out.push_back(',');
        first = false;
        append(element, out);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::string: {
      const auto& text = value.template get_ref<const std::string&>();
      if (needs_no_escaping(text)) {
        out.push_back('"');
        out.append(text);
        out.push_back('"');
        return;
      }
      break;
    }
    default:
      break;
  }
  out.append(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

void append_compact_json(const nlohmann::json& value, std::string& out) {
  out.reserve(out.size() + string_bytes(value) + 64);  // the bulk of an answer is its strings
  append(value, out);
}

void append_compact_json(const nlohmann::ordered_json& value, std::string& out) {
  out.reserve(out.size() + string_bytes(value) + 64);
  append(value, out);
}

}  // namespace idvault::rpc
