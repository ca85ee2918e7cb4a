// The simulator's one logging entry point: levelled lines on stderr. Callers pass
// conditions and lengths, never PINs or key material (see loggable_command()).
#pragma once

#include <string_view>

#include "firmware-sim/bytes.h"

namespace idvault::cardsim {

enum class LogLevel { error = 0, info = 1, debug = 2 };

void set_log_level(LogLevel level) noexcept;
[[nodiscard]] bool log_enabled(LogLevel level) noexcept;
void log_line(LogLevel level, std::string_view message);

// A command APDU for a debug log: header in hex, data shown only for commands that carry
// nothing secret, and bounded. VERIFY, CHANGE REFERENCE and RESET RETRY COUNTER data
// (PINs, PUKs) is replaced by its length.
[[nodiscard]] std::string loggable_command(ByteView command);
// A response APDU for a debug log: length and status word only; the data may be a
// decrypted secret.
[[nodiscard]] std::string loggable_response(ByteView response);

}  // namespace idvault::cardsim
