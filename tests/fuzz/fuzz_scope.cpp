// libFuzzer target: scopes in every form. Any input must parse or throw FormatError, and
// a parsed scope must round-trip through both writers unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/model/errors.h"
#include "vault/model/scope.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault::vault;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto scope = parse_scope(text);
    if (!(parse_scope(to_v1_json(scope)) == scope) ||
        !(parse_scope(to_packed_json(scope)) == scope)) {
      __builtin_trap();
    }
  } catch (const FormatError&) {
  }
  return 0;
}
