#include "common/json_fields.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/format_error.h"
#include "common/quoted_text.h"

namespace idvault::json_fields {
namespace {

const Json& require(const Json& object, std::string_view key, std::string_view where) {
  const Json* value = find(object, key);
  if (value == nullptr) throw FormatError(path(where, key), "missing");
  return *value;
}

// An explicit stack, not recursion: a client may nest arrays as deep as its frame allows.
template <typename AnyJson>
void wipe_tree(AnyJson& root) noexcept {
  const auto wipe = [](AnyJson& value) {
    auto& text = value.template get_ref<std::string&>();
    OPENSSL_cleanse(text.data(), text.size());
  };
  if (root.is_string()) {
    wipe(root);
    return;
  }
  if (!root.is_structured()) return;
  try {
    std::vector<AnyJson*> pending{&root};
    while (!pending.empty()) {
      AnyJson* next = pending.back();
      pending.pop_back();
      for (auto& child : *next) {
        if (child.is_string()) {
          wipe(child);
        } else if (child.is_structured()) {
          pending.push_back(&child);
        }
      }
    }
  } catch (...) {
    // Only the stack's allocation can throw; what is left unwiped is freed as it was.
  }
}

template <typename AnyJson>
AnyJson parse_bounded(std::string_view text, std::string_view where) {
  if (nests_too_deep(text)) {
    throw FormatError(std::string(where),
                      "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  AnyJson value = AnyJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw FormatError(std::string(where), "not valid JSON");
  return value;
}

// Index of the quote that closes the string whose content starts at `from`, or npos.
std::size_t closing_quote(std::string_view text, std::size_t from) noexcept {
  while (from < text.size()) {
    const void* found = std::memchr(text.data() + from, '"', text.size() - from);
    if (found == nullptr) return std::string_view::npos;
    const std::size_t quote =
        static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
    std::size_t backslashes = 0;
    while (quote - backslashes > from && text[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote;
    from = quote + 1;
  }
  return std::string_view::npos;
}

}  // namespace

bool nests_too_deep(std::string_view text) noexcept {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '"':
        i = closing_quote(text, i + 1);
        if (i == std::string_view::npos) return false;
        break;
      case '[':
      case '{':
        if (++depth > kMaxDepth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

std::string path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  const bool plain =
      !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  out += plain ? std::string(key) : quote_untrusted(key);
  return out;
}

std::string path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

void expect_object(const Json& value, std::string_view where) {
  if (!value.is_object()) throw FormatError(std::string(where), "must be a JSON object");
}

const Json* find(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const std::string& require_string(const Json& object, std::string_view key,
                                  std::string_view where) {
  const Json& value = require(object, key, where);
  if (!value.is_string()) throw FormatError(path(where, key), "must be a string");
  return value.get_ref<const std::string&>();
}

std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                           std::string_view where) {
  if (find(object, key) == nullptr) return std::nullopt;
  return require_string(object, key, where);
}

std::int64_t require_integer(const Json& object, std::string_view key, std::string_view where) {
  const Json& value = require(object, key, where);
  if (!value.is_number_integer()) throw FormatError(path(where, key), "must be an integer");
  return value.get<std::int64_t>();
}

std::optional<std::int64_t> optional_integer(const Json& object, std::string_view key,
                                             std::string_view where) {
  if (find(object, key) == nullptr) return std::nullopt;
  return require_integer(object, key, where);
}

const Json& require_object(const Json& object, std::string_view key, std::string_view where) {
  const Json& value = require(object, key, where);
  expect_object(value, path(where, key));
  return value;
}

const Json* optional_object(const Json& object, std::string_view key, std::string_view where) {
  const Json* value = find(object, key);
  if (value != nullptr) expect_object(*value, path(where, key));
  return value;
}

const Json* optional_array(const Json& object, std::string_view key, std::string_view where) {
  const Json* value = find(object, key);
  if (value != nullptr && !value->is_array())
    throw FormatError(path(where, key), "must be an array");
  return value;
}

Json parse(std::string_view text, std::string_view where) {
  return parse_bounded<Json>(text, where);
}

nlohmann::ordered_json parse_ordered(std::string_view text, std::string_view where) {
  return parse_bounded<nlohmann::ordered_json>(text, where);
}

void wipe_strings(Json& value) noexcept {
  wipe_tree(value);
}
void wipe_strings(nlohmann::ordered_json& value) noexcept {
  wipe_tree(value);
}

}  // namespace idvault::json_fields
