#include "firmware-sim/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace idvault::cardsim {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
constexpr std::size_t kMaxLoggedData = 32;

bool carries_secret(std::uint8_t ins) {
  return ins == 0x20 || ins == 0x24 || ins == 0x2C;
}
}  // namespace

void set_log_level(LogLevel level) noexcept {
  g_level.store(static_cast<int>(level));
}

bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) <= g_level.load();
}

void log_line(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  static constexpr const char* kNames[] = {"error", "info", "debug"};
  std::fprintf(stderr, "idvault-cardsim: %s: %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

std::string loggable_command(ByteView command) {
  if (command.size() < 4) return "C: " + to_hex(command) + " (short)";
  std::string out = "C: " + to_hex(command.first(4));
  const ByteView body = command.subspan(4);
  if (body.empty()) return out;
  if (carries_secret(command[1]))
    return out + " [" + std::to_string(body.size()) + " bytes masked]";
  out += " " + to_hex(body.first(std::min(body.size(), kMaxLoggedData)));
  if (body.size() > kMaxLoggedData) out += "... (" + std::to_string(body.size()) + " bytes)";
  return out;
}

std::string loggable_response(ByteView response) {
  if (response.size() < 2) return "R: (malformed)";
  return "R: " + std::to_string(response.size() - 2) + " bytes, SW " + to_hex(response.last(2));
}

}  // namespace idvault::cardsim
