// What a service asks for: the scope of a Passport authorization request (spec §5.2).
//
// Read from any of the four forms services send: PassportScope v1 JSON
// ({"data":[...],"v":1}), its packed URI form ({"v":1,"d":[{"_":"pd","n":1},...]}), the
// Passport 1.0 JSON array of type names, and the legacy comma list. The aliases
// id_document and address_document become one_of lists. Keys may come in any order;
// unknown keys inside elements are ignored; flags may be true/false or 1/0.
//
// Errors are FormatError with where() naming the position in the form as written:
// "scope.data[2]", "scope.d[4]._[1]", "scope[1]".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vault/model/element_type.h"

namespace idvault::vault {

// One type the service will accept, with what it wants along with it.
struct ScopeChoice {
  ElementType type = ElementType::personal_details;
  bool selfie = false;        // identity documents only
  bool translation = false;   // identity documents and proof-of-address documents only
  bool native_names = false;  // personal_details only
  friend bool operator==(const ScopeChoice&, const ScopeChoice&) = default;
};

// One entry of the scope: a single type, or a one_of list of which the holder gives one.
// Flags written on a one_of apply to each of its choices; they are stored per choice.
struct ScopeItem {
  std::vector<ScopeChoice> choices;  // exactly one unless one_of
  bool one_of = false;
  friend bool operator==(const ScopeItem&, const ScopeItem&) = default;
};

enum class ScopeForm { v1_json, packed_json, legacy_array, legacy_list };

struct ScopeRequest {
  std::vector<ScopeItem> items;
  // How the text was written. TDLib sends credentials with "payload" instead of "nonce"
  // unless the scope was a JSON object, so the form outlives the parse.
  ScopeForm form = ScopeForm::v1_json;

  // Every type the scope names, in order of appearance.
  [[nodiscard]] std::vector<ElementType> all_types() const;
  [[nodiscard]] bool contains(ElementType type) const;
  [[nodiscard]] bool wants_selfie(ElementType type) const;
  [[nodiscard]] bool wants_translation(ElementType type) const;
  [[nodiscard]] bool wants_native_names() const;
  // Compares items only: the same request written in two forms is the same request.
  friend bool operator==(const ScopeRequest& a, const ScopeRequest& b) {
    return a.items == b.items;
  }
};

// Parses any of the four forms and enforces Telegram's rules: at least one item; every
// type at most once in the whole scope; a one_of holds only identity documents or only
// proof-of-address documents; selfie only for identity documents; translation only for
// those and proof-of-address documents; native_names only for personal_details; "v",
// when given, is 1.
[[nodiscard]] ScopeRequest parse_scope(std::string_view text);

// Checks the rules above on a scope built in code; throws FormatError like parse_scope.
void validate_scope(const ScopeRequest& scope);

// {"data":[...],"v":1} with full type names and true flags.
[[nodiscard]] std::string to_v1_json(const ScopeRequest& scope);
// {"d":[...],"v":1} with aliases and 1 flags, as Telegram's JS SDK sends it.
[[nodiscard]] std::string to_packed_json(const ScopeRequest& scope);

}  // namespace idvault::vault
