// libFuzzer target: Bot API PassportData JSON (EncryptedPassportElement, PassportFile,
// EncryptedCredentials). Any input must parse or throw FormatError; what parses must be
// written and read back unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/model/errors.h"
#include "vault/wire/passport_data.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault::vault;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const PassportData passport_data = parse_passport_data(text);
    const std::string written = to_json(passport_data).dump();
    if (to_json(parse_passport_data(written)).dump() != written) __builtin_trap();
  } catch (const FormatError&) {
  }
  return 0;
}
