// Why the vault last locked, and when: what a client is told when it finds the vault
// locked ("the token was removed at 14:02"), as gpg-agent says "card removed" rather
// than only "no secret key".
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace idvault::agent {

enum class LockReason { requested, idle_timeout, token_removed, recovering, stopping };

// Stable keyword for the error's data and status ("token_removed").
[[nodiscard]] const char* keyword(LockReason reason) noexcept;
// The text of the `locked` event's reason ("token removed"), unchanged for subscribers.
[[nodiscard]] const char* event_text(LockReason reason) noexcept;

struct LockRecord {
  LockReason reason;
  std::chrono::system_clock::time_point at;
  std::chrono::seconds idle_timeout{0};  // the setting, for "after 900 s idle"
};

// "vault locked: the token was removed at 14:02; run 'idvault unlock' once it is back"
// (local time; the date too when it was not today). Without a record (never unlocked
// since the agent started): "vault locked: run 'idvault unlock'".
[[nodiscard]] std::string locked_message(const LockRecord* record);
// {"reason": keyword, "locked_at": unix seconds}, or {"reason": "not_unlocked"}.
[[nodiscard]] nlohmann::json locked_data(const LockRecord* record);

}  // namespace idvault::agent
