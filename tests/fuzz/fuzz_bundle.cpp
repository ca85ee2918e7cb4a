// libFuzzer target: what a relying party is handed — a share bundle (passport_data,
// files, receipt, attestations) or a bare PassportData — through the same reader
// `idvault-rp decrypt` and the callback service use, including the one-pass splitter and
// base64 decoder. Any input must be read or throw FormatError.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "host/rp/share/bundle_text.h"
#include "host/rp/share/received_share.h"
#include "vault/model/errors.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const rp::BundleText parts = rp::split_bundle_text(text);
    // Views must stay inside the input (or the splitter's own unescaped copies).
    for (const std::string_view part : {parts.passport_data, parts.receipt, parts.attestations}) {
      if (!part.empty() &&
          (part.data() < text.data() || part.data() + part.size() > text.data() + text.size())) {
        __builtin_trap();
      }
    }
  } catch (const vault::FormatError&) {
  }
  // One reader across inputs, as a worker keeps one.
  static rp::ShareReader reader;
  try {
    const rp::ReceivedShare& share = reader.read(text, std::nullopt);
    // Touch every decoded byte: a span past the reader's buffer is an ASan report.
    static volatile unsigned sink = 0;
    for (const auto& [id, bytes] : share.files) {
      for (const auto byte : bytes) sink = sink + byte;
    }
    if (share.is_bundle && !share.receipt) __builtin_trap();
  } catch (const vault::FormatError&) {
  }
  return 0;
}
