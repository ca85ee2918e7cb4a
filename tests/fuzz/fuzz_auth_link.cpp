// libFuzzer target: authorization links. Any input must either parse or throw
// FormatError; anything else (a crash, another exception, a sanitizer report) is a bug.
// A parsed request must also survive being built into a link and parsed again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/model/auth_link.h"
#include "vault/model/errors.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault::vault;
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  try {
    const auto request = parse_authorization_link(url);
    const bool telegram = !request.service_id.empty() &&
                          request.service_id.find_first_not_of("0123456789") == std::string::npos;
    const auto again = parse_authorization_link(
        build_authorization_link(request, telegram ? LinkFormat::tg : LinkFormat::idvault));
    if (again.nonce != request.nonce || again.scope_text != request.scope_text ||
        again.public_key_pem != request.public_key_pem || !(again.scope == request.scope)) {
      __builtin_trap();
    }
  } catch (const FormatError&) {
  }
  return 0;
}
