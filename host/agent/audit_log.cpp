#include "host/agent/audit_log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#include "pkcs11/error.h"
#include "pkcs11/module.h"

namespace idvault::agent {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_write;

const char* name_of(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warning:
      return "warning";
    case LogLevel::info:
      return "info";
    default:
      return "debug";
  }
}

void on_cryptoki_call(std::string_view function, CK_RV rv) noexcept {
  if (!log_enabled(LogLevel::debug)) return;
  try {
    log(LogLevel::debug, std::string(function) + " -> " + p11::rv_name(rv));
  } catch (...) {
  }
}

}  // namespace

void set_log_level(LogLevel level) noexcept {
  g_level.store(static_cast<int>(level));
}

bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) <= g_level.load();
}

LogLevel parse_log_level(std::string_view name) {
  for (LogLevel level : {LogLevel::error, LogLevel::warning, LogLevel::info, LogLevel::debug}) {
    if (name == name_of(level)) return level;
  }
  throw std::invalid_argument("--log-level must be error, warning, info or debug");
}

void log(LogLevel level, std::string_view message) noexcept {
  if (!log_enabled(level)) return;
  std::lock_guard lock(g_write);
  std::fprintf(stderr, "idvault-agent[%d]: %s: %.*s\n", static_cast<int>(::getpid()),
               name_of(level), static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

void audit(const rpc::PeerIdentity& peer, std::string_view method,
           std::string_view result) noexcept {
  if (!log_enabled(LogLevel::info)) return;
  try {
    log(LogLevel::info, "audit: uid=" + std::to_string(peer.uid) +
                            " pid=" + std::to_string(peer.pid) + " method=" + std::string(method) +
                            " result=" + std::string(result));
  } catch (...) {
  }
}

rpc::MethodHandler audited(std::string method, rpc::MethodHandler handler) {
  return [method = std::move(method), handler = std::move(handler)](
             nlohmann::json& params, const rpc::CallContext& context) {
    try {
      nlohmann::json result = handler(params, context);
      audit(context.peer(), method, "ok");
      return result;
    } catch (const rpc::RpcError& error) {
      audit(context.peer(), method, "error " + std::to_string(static_cast<int>(error.code())));
      throw;
    } catch (...) {
      audit(context.peer(), method, "error internal");
      throw;
    }
  };
}

void log_cryptoki_calls() noexcept {
  p11::set_call_observer(&on_cryptoki_call);
}

}  // namespace idvault::agent
