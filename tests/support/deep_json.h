// Hostile JSON for the depth limit (json_fields::kMaxDepth): a document with one
// value swapped for arrays nested far deeper than any parser's stack survives copying.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace idvault::testing {

// 200,000 levels: 400 KB of text, under every body and frame limit, and deep enough to
// overflow an 8 MiB stack in any recursive copy, comparison or dump.
inline constexpr std::size_t kHostileDepth = 200'000;

[[nodiscard]] inline std::string nested_arrays(std::size_t depth = kHostileDepth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// The text of `document` with the value at `where` replaced by nested_arrays(depth).
[[nodiscard]] inline std::string with_deep_nesting(nlohmann::json document,
                                                   const nlohmann::json::json_pointer& where,
                                                   std::size_t depth = kHostileDepth) {
  static const std::string marker = "deep-nesting-goes-here";
  document[where] = marker;
  std::string text = document.dump();
  const std::string quoted = "\"" + marker + "\"";
  text.replace(text.find(quoted), quoted.size(), nested_arrays(depth));
  return text;
}

}  // namespace idvault::testing
