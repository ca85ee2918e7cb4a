#include "host/agent/lock_reason.h"

#include <ctime>

#include "common/utc_time.h"

namespace idvault::agent {

const char* keyword(LockReason reason) noexcept {
  switch (reason) {
    case LockReason::requested:
      return "requested";
    case LockReason::idle_timeout:
      return "idle_timeout";
    case LockReason::token_removed:
      return "token_removed";
    case LockReason::recovering:
      return "recovering";
    case LockReason::stopping:
      return "stopping";
  }
  return "unknown";
}

const char* event_text(LockReason reason) noexcept {
  switch (reason) {
    case LockReason::requested:
      return "client asked";
    case LockReason::idle_timeout:
      return "idle time-out";
    case LockReason::token_removed:
      return "token removed";
    case LockReason::recovering:
      return "recovering onto a new token";
    case LockReason::stopping:
      return "agent stopping";
  }
  return "unknown";
}

std::string locked_message(const LockRecord* record) {
  if (record == nullptr) return "vault locked: run 'idvault unlock'";
  // The agent and its clients run as one user on one machine: its local time is theirs.
  const std::string at =
      local_clock_time(static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(record->at)),
                       static_cast<std::int64_t>(std::time(nullptr)));
  switch (record->reason) {
    case LockReason::token_removed:
      return "vault locked: the token was removed at " + at +
             "; run 'idvault unlock' once it is back";
    case LockReason::idle_timeout:
      return "vault locked: locked at " + at + " after " +
             std::to_string(record->idle_timeout.count()) + " s idle; run 'idvault unlock'";
    case LockReason::requested:
      return "vault locked: locked on request at " + at + " ('idvault lock'); run 'idvault unlock'";
    case LockReason::recovering:
    case LockReason::stopping:
      break;
  }
  return "vault locked: locked at " + at + " (" + event_text(record->reason) +
         "); run 'idvault unlock'";
}

nlohmann::json locked_data(const LockRecord* record) {
  if (record == nullptr) return {{"reason", "not_unlocked"}};
  return {
      {"reason", keyword(record->reason)},
      {"locked_at", static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(record->at))}};
}

}  // namespace idvault::agent
