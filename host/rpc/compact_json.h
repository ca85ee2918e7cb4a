// A JSON value as one compact line, the way nlohmann::json::dump(-1) writes it (object
// members in the same order, invalid UTF-8 replaced, not thrown), but without its
// per-character escaping loop for strings that need no escaping: an answer holding
// 16 MiB of scans is 22 MiB of base64, which dump() spent 100+ ms on, a byte at a time.
// nlohmann still writes every number, literal and string that needs escaping.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace idvault::rpc {

void append_compact_json(const nlohmann::json& value, std::string& out);
// The same for a tree that keeps its members in insertion order (a share bundle).
void append_compact_json(const nlohmann::ordered_json& value, std::string& out);

}  // namespace idvault::rpc
