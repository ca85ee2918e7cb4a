// libFuzzer target: PassportElementError arrays as a service would send them, and element
// data JSON for every type. Any input must parse or throw FormatError; what parses and is
// writable must read back the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/model/element_data.h"
#include "vault/model/element_error.h"
#include "vault/model/errors.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault::vault;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto errors = parse_element_errors(text);
    for (const auto& error : errors) {
      try {
        const auto written = to_json(error).dump();
        if (!(parse_element_error(nlohmann::json::parse(written)) == error)) __builtin_trap();
      } catch (const FormatError&) {
        // Read tolerantly, refused on write (an unknown field_name): by design.
      }
    }
  } catch (const FormatError&) {
  }
  for (const auto type : kAllElementTypes) {
    try {
      const auto parsed = parse_element_data(type, text);
      try {
        if (!(parse_element_data(type, std::string_view(to_json_text(type, parsed))) == parsed)) {
          __builtin_trap();
        }
      } catch (const FormatError&) {
        // An unassigned country code is read from peers but never written.
      }
    } catch (const FormatError&) {
    }
  }
  return 0;
}
