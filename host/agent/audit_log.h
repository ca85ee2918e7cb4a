// The agent's one logging entry point, and its audit stream.
//
// Lines go to stderr (journald keeps them for a systemd unit). They are built only from
// things that are not secret: method names, peer uid/pid, error codes, Cryptoki function
// names and CKR_ names. Never params, PINs, document contents or ciphertexts — there is
// no API here that takes them.
#pragma once

#include <string_view>

#include "host/rpc/json_rpc.h"
#include "host/rpc/method_table.h"

namespace idvault::agent {

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

void set_log_level(LogLevel level) noexcept;
[[nodiscard]] bool log_enabled(LogLevel level) noexcept;
// Throws std::invalid_argument for anything but error, warning, info, debug.
[[nodiscard]] LogLevel parse_log_level(std::string_view name);

void log(LogLevel level, std::string_view message) noexcept;

// "audit: uid=1000 pid=4242 method=authorize result=ok" or "result=error -32007", at info.
void audit(const rpc::PeerIdentity& peer, std::string_view method,
           std::string_view result) noexcept;

// The handler, with an audit line for every call: who asked for what, and the outcome.
[[nodiscard]] rpc::MethodHandler audited(std::string method, rpc::MethodHandler handler);

// Turns on debug lines for every Cryptoki call: function name and CKR_ name only.
void log_cryptoki_calls() noexcept;

}  // namespace idvault::agent
