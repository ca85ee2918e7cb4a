// init, unlock, lock, status, tokens: the vault's state and the token under it.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/cli/cli_error.h"
#include "common/cli/command_line.h"
#include "common/utc_time.h"
#include "host/cli/agent_client.h"
#include "host/cli/agent_messages.h"
#include "host/cli/commands.h"
#include "host/cli/pin_args.h"
#include "host/cli/token_match.h"
#include "vault/account/recovery_code.h"
#include "vault/model/errors.h"

namespace idvault::cli {
namespace {

// The recovery password guards every document: asked twice when typed, so a typo does
// not lock the holder out of their own recovery.
SecretBytes read_recovery_password(const po::variables_map& vm, bool confirm) {
  auto file = optional_value<std::string>(vm, "recovery-password-file");
  SecretBytes password = read_pin(file, "Recovery password");
  if (confirm && !file) {
    SecretBytes again = read_pin(std::nullopt, "Recovery password, again");
    if (!password.equals(again.reveal())) throw UsageError("the two recovery passwords differ");
  }
  return password;
}

nlohmann::json send_pin(AgentClient& agent, const char* method, const po::variables_map& vm,
                        const SecretBytes* recovery_password = nullptr) {
  SecretRequest request = pin_request(agent, method, vm);
  if (recovery_password) request.add_text("recovery_password", *recovery_password);
  return agent.call(request);
}

void check_module(const std::string& module, const nlohmann::json& status) {
  std::error_code ignored;
  const auto agents = status.value("module", std::string());
  if (agents.empty())
    throw OperationFailed("the agent has no PKCS#11 module configured: start it with --module " +
                          module);
  if (!std::filesystem::equivalent(module, agents, ignored)) {
    throw OperationFailed("the agent uses module " + agents + ", not " + module +
                          ": restart idvault-agent with --module " + module);
  }
}

// "on request at 14:02" from status's lock_reason and locked_at (local time, the
// date too when not today), for "vault: locked (...)".
std::string describe_lock(const nlohmann::json& status) {
  const std::string reason = status.value("lock_reason", std::string());
  std::string text = reason == "requested"       ? "on request"
                     : reason == "token_removed" ? "token removed"
                     : reason == "idle_timeout"  ? "idle time-out"
                                                 : one_line(reason, 40);
  if (!status.contains("locked_at") || !status["locked_at"].is_number_integer()) return text;
  return text + " at " +
         local_clock_time(status["locked_at"].get<std::int64_t>(),
                          static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace

int run_init(const Args& args) {
  CommandLine command(
      "idvault init [--pin-file F] [--allow-final-try] [--token URI] [--module SO]\n"
      "             [--recovery-password | --recovery-password-file F] [--json]",
      "Creates the vault: a master key and an identity key on the agent's token.\n"
      "The agent owns the token (idvault-agent --token/--module); --token and --module\n"
      "here only check that it is the token you mean, and fail if it is not.");
  add_pin_options(command);
  command.options.add_options()("token", po::value<std::string>(),
                                "RFC 7512 URI the agent's token must match")(
      "module", po::value<std::string>(), "PKCS#11 module the agent must be using")(
      "recovery-password", "also protect the vault with a recovery password (asked for twice)")(
      "recovery-password-file", po::value<std::string>(),
      "read the recovery password from this file");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  std::optional<SecretBytes> recovery_password;
  if (vm->count("recovery-password") || vm->count("recovery-password-file")) {
    recovery_password = read_recovery_password(*vm, true);
  }
  AgentClient agent(agent_socket_path());
  if (vm->count("module")) check_module((*vm)["module"].as<std::string>(), agent.call("status"));
  if (vm->count("token")) {
    check_agent_uses_token((*vm)["token"].as<std::string>(), agent.call("tokens"),
                           agent.call("status").value("token_uri", std::string("pkcs11:")));
  }
  nlohmann::json result =
      send_pin(agent, "init", *vm, recovery_password ? &*recovery_password : nullptr);
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "vault initialised on token '" << result.value("token", std::string()) << "' (mode "
            << result.value("mode", std::string()) << ")\n"
            << "recovery: "
            << (result.value("recovery", false)
                    ? "password set"
                    : "none: if this token is lost or broken, the vault is lost with it; "
                      "add a recovery password with 'idvault recovery add'")
            << "\n"
            << "token: " << result.value("token_uri", std::string()) << "\n"
            << "identity key sha256: " << result.value("identity_key_sha256", std::string())
            << "\n";
  return kExitOk;
}

// recover --cloud: the code is checked group by group here, so a typo is named before
// anything reaches the agent or the server.
int recover_from_cloud(const po::variables_map& vm, const std::string& account_url) {
  const auto file = optional_value<std::string>(vm, "recovery-code-file");
  SecretBytes typed = read_pin(file, "Recovery code");
  std::optional<vault::RecoveryCode> code;
  try {
    code.emplace(vault::RecoveryCode::parse(typed.reveal_text()));
  } catch (const vault::FormatError& e) {
    throw UsageError(std::string("the recovery code does not read: ") + e.what());
  }
  AgentClient agent(agent_socket_path());
  SecretRequest request = pin_request(agent, "cloud.recover", vm);
  request.add_plain("account_url", account_url);
  if (auto name = optional_value<std::string>(vm, "device-name"))
    request.add_plain("device_name", *name);
  request.add_text("recovery_code", code->printed());
  nlohmann::json result = agent.call(request);
  if (wants_json(vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "recovered from " << result.value("account_url", std::string()) << " as device "
            << result.value("device_id", std::string()) << ": " << result.value("elements", 0)
            << " elements now on this device\n";
  return kExitOk;
}

int run_recover(const Args& args) {
  CommandLine command(
      "idvault recover [--pin-file F] [--recovery-password-file F] [--allow-final-try] [--json]\n"
      "       idvault recover --cloud ACCOUNT_URL [--recovery-code-file F] [--pin-file F]\n"
      "                       [--device-name NAME] [--allow-final-try] [--json]",
      "Moves a vault made with --recovery-password onto the agent's token, a new one\n"
      "(start idvault-agent with --token naming it): every document stays, now under\n"
      "the new token's keys. Needs the new token's PIN and the recovery password.\n"
      "--cloud: with every device of a cloud account lost, brings the account's vault onto\n"
      "the agent's token (one with no vault) from the server and the recovery code alone;\n"
      "this token becomes an enrolled device of the account.");
  add_pin_options(command);
  command.options.add_options()("recovery-password-file", po::value<std::string>(),
                                "read the recovery password from this file")(
      "cloud", po::value<std::string>(), "recover the cloud account at this ACCOUNT_URL")(
      "recovery-code-file", po::value<std::string>(),
      "--cloud: read the recovery code from this file (else it is asked for)")(
      "device-name", po::value<std::string>(),
      "--cloud: this device's name in the account (default: the host name)");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  if (auto url = optional_value<std::string>(*vm, "cloud")) return recover_from_cloud(*vm, *url);
  if (vm->count("recovery-code-file") || vm->count("device-name"))
    throw UsageError("--recovery-code-file and --device-name go with --cloud ACCOUNT_URL");
  SecretBytes password = read_recovery_password(*vm, false);
  AgentClient agent(agent_socket_path());
  nlohmann::json result = send_pin(agent, "recover", *vm, &password);
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "vault recovered onto token '" << result.value("token", std::string()) << "' ("
            << result.value("secrets", 0) << " secrets moved, mode "
            << result.value("mode", std::string()) << ")\n"
            << "token: " << result.value("token_uri", std::string()) << "\n";
  return kExitOk;
}

int run_recovery(const Args& args) {
  CommandLine command(
      "idvault recovery add [--recovery-password-file F] [--json]",
      "Adds a recovery password to an unlocked vault, or replaces the one it has: every\n"
      "stored secret is sealed to a new recovery key, in one step, so that 'idvault recover'\n"
      "can later move the vault onto a new token if this one is lost.");
  command.argument("ACTION", true);
  command.options.add_options()("recovery-password-file", po::value<std::string>(),
                                "read the recovery password from this file");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  if ((*vm)["ACTION"].as<std::string>() != "add") {
    throw UsageError("unknown action '" + (*vm)["ACTION"].as<std::string>() +
                     "'; usage: idvault recovery add");
  }
  SecretBytes password = read_recovery_password(*vm, true);
  AgentClient agent(agent_socket_path());
  SecretRequest request("recovery.add", agent.next_id());
  request.add_text("recovery_password", password);
  nlohmann::json result = agent.call(request);
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << (result.value("replaced", false) ? "recovery password replaced"
                                                : "recovery password added")
            << " (" << result.value("secrets", 0) << " secrets sealed to the new recovery key)\n";
  return kExitOk;
}

int run_unlock(const Args& args) {
  CommandLine command("idvault unlock [--pin-file F] [--allow-final-try] [--json]",
                      "Logs the agent in to the token so the vault can be read and shared.\n"
                      "The PIN comes from --pin-file, $IDVAULT_ASKPASS, the pinentry in "
                      "$IDVAULT_PINENTRY, or the terminal.");
  add_pin_options(command);
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  if (agent.call("status").value("unlocked", false)) {
    // The agent's own answer to an unlock of an unlocked vault.
    std::cout << (wants_json(*vm) ? nlohmann::json{{"unlocked", true}, {"already", true}}.dump(2)
                                  : std::string("vault already unlocked"))
              << "\n";
    return kExitOk;
  }
  nlohmann::json result = send_pin(agent, "unlock", *vm);
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "vault unlocked (token '" << result.value("token", std::string()) << "', mode "
            << result.value("mode", std::string()) << ")\n";
  return kExitOk;
}

int run_lock(const Args& args) {
  CommandLine command("idvault lock [--json]",
                      "Logs the agent out of the token and closes its sessions.");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("lock");
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << (result.value("was_unlocked", false) ? "vault locked\n"
                                                    : "vault was already locked\n");
  return kExitOk;
}

int run_status(const Args& args) {
  CommandLine command("idvault status [--json]", "Shows whether the vault exists and is unlocked.");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  nlohmann::json status = agent.call("status");
  if (wants_json(*vm)) {
    std::cout << status.dump(2) << "\n";
    return kExitOk;
  }
  const bool initialised = status.value("initialised", false);
  std::cout << "agent:    " << agent.socket_path().string() << "\n"
            << "vault:    "
            << (!initialised                      ? std::string("not initialised")
                : status.value("unlocked", false) ? std::string("unlocked")
                : status.contains("lock_reason")  ? "locked (" + describe_lock(status) + ")"
                                                  : std::string("locked"))
            << "\n";
  if (status.contains("mode"))
    std::cout << "mode:     " << status["mode"].get<std::string>() << "\n";
  if (status.contains("token_label"))
    std::cout << "token:    " << status["token_label"].get<std::string>() << "\n";
  std::cout << "token uri: " << status.value("token_uri", std::string()) << "\n"
            << "store:    " << status.value("store", std::string()) << "\n";
  if (status.contains("elements")) std::cout << "elements: " << status["elements"].dump() << "\n";
  return kExitOk;
}

int run_tokens(const Args& args) {
  CommandLine command("idvault tokens [--json]",
                      "Lists the tokens the agent's PKCS#11 module sees and what each can do.");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  nlohmann::json tokens = agent.call("tokens");
  if (wants_json(*vm)) {
    std::cout << tokens.dump(2) << "\n";
    return kExitOk;
  }
  if (tokens.empty()) std::cout << "no token present\n";
  for (const auto& token : tokens) {
    std::cout << token.value("label", std::string()) << "\n"
              << "  uri:          " << token.value("uri", std::string()) << "\n"
              << "  vault mode:   " << token.value("vault_mode", std::string("unknown")) << "\n";
    std::string capabilities;
    if (token.contains("capabilities") && token["capabilities"].is_object()) {
      for (const auto& [name, supported] : token["capabilities"].items()) {
        if (supported.is_boolean() && supported.get<bool>())
          capabilities += (capabilities.empty() ? "" : " ") + name;
      }
    } else {
      capabilities = "unknown (token left while probed)";
    }
    std::cout << "  capabilities: " << capabilities << "\n";
    std::string flags;
    if (token.value("read_only", false)) flags += " read-only";
    if (token.value("pin_locked", false)) flags += " PIN-locked";
    if (token.value("pin_final_try", false)) flags += " final-PIN-try";
    if (!flags.empty()) std::cout << "  flags:       " << flags << "\n";
  }
  return kExitOk;
}

}  // namespace idvault::cli
