// Command APDU parsing (ISO 7816-3 §12.1): the four cases, short and extended length.
//
// Strict by design: a command whose length bytes disagree with its size is refused with
// the status word a real card gives (6700), and the parser never reads past the buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "firmware-sim/bytes.h"
#include "firmware-sim/status_word.h"

namespace idvault::cardsim {

struct CommandApdu {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;                       // empty for case 1 and 2
  std::optional<std::uint32_t> le;  // absent for case 1 and 3; 1..256 short, 1..65536 extended
  bool extended = false;

  // CLA bit 0x10: more blocks of this command follow (ISO 7816-4 command chaining).
  [[nodiscard]] bool chained() const { return (cla & 0x10) != 0; }
};

// Either the command, or the status word to answer a malformed one with.
using ApduParse = std::variant<CommandApdu, StatusWord>;

[[nodiscard]] ApduParse parse_command_apdu(ByteView raw);

// Response APDU: data followed by SW1 SW2.
[[nodiscard]] Bytes response_apdu(ByteView data, std::uint16_t status);
[[nodiscard]] inline Bytes response_apdu(StatusWord status) {
  return response_apdu({}, static_cast<std::uint16_t>(status));
}

}  // namespace idvault::cardsim
