// libFuzzer target: decrypted credentials JSON, as a relying party reads it after the RSA
// and AES layers. Any input must parse or throw FormatError; what parses must serialize
// and read back to the same text (nothing lost, nothing invented).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/model/errors.h"
#include "vault/wire/credentials.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault::vault;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Credentials credentials = parse_credentials(text);
    const auto written = serialize_credentials(credentials);
    const Credentials again = parse_credentials(written.reveal_text());
    const auto rewritten = serialize_credentials(again);
    if (again.nonce != credentials.nonce ||
        again.secure_data.size() != credentials.secure_data.size() ||
        !std::ranges::equal(written.reveal(), rewritten.reveal())) {
      __builtin_trap();
    }
  } catch (const FormatError&) {
  }
  return 0;
}
