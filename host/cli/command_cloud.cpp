// cloud init, cloud join, devices, sync: one vault on several devices (docs/CLOUD.md).
// The agent does the work (it holds the token and talks to the server); the commands
// read what only the person can give (the PIN, the recovery code typed back) and say
// what happened.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <system_error>
#include <thread>

#include "common/cli/cli_error.h"
#include "common/cli/command_line.h"
#include "host/cli/agent_client.h"
#include "host/cli/commands.h"
#include "host/cli/pin_args.h"
#include "vault/account/recovery_code.h"
#include "vault/model/errors.h"

namespace idvault::cli {
namespace {

// The code goes to a new file only this user can read, written in full or not at all
// (O_EXCL: never over a file someone put there, which could be a link elsewhere).
void write_code_file(const std::string& path, const SecretBytes& printed) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int error = errno;
    throw UsageError("cannot create the recovery code file " + path + ": " +
                     std::generic_category().message(error) +
                     (error == EEXIST ? " (it exists; give a new file)" : ""));
  }
  std::string_view text = printed.reveal_text();
  bool ok = true;
  for (std::string_view rest = text; ok && !rest.empty();) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ok = ok && ::write(fd, "\n", 1) == 1 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw OperationFailed("cannot write the recovery code file " + path);
  }
}

// On a terminal: shows the code once and has it typed back, so a code that was not
// written down (or was written down wrong) is found now, not on the day it is needed.
void show_and_confirm_code(const vault::RecoveryCode& code) {
  const int tty = ::open("/dev/tty", O_WRONLY | O_CLOEXEC);
  if (tty < 0) {
    throw UsageError(
        "no terminal to show the recovery code on: give --recovery-code-file F to have it "
        "written to a new file instead");
  }
  const SecretBytes printed = code.printed();
  const std::string before =
      "\nYour recovery code (with a new token it recovers every document if all your devices "
      "are lost).\nWrite it down and keep it apart from your devices; it is shown only once:\n\n"
      "    ";
  const std::string after = "\n\n";
  bool ok = ::write(tty, before.data(), before.size()) == static_cast<ssize_t>(before.size()) &&
            ::write(tty, printed.reveal().data(), printed.size()) ==
                static_cast<ssize_t>(printed.size()) &&
            ::write(tty, after.data(), after.size()) == static_cast<ssize_t>(after.size());
  ::close(tty);
  if (!ok) throw OperationFailed("cannot show the recovery code on the terminal");
  for (int attempt = 1;; ++attempt) {
    SecretBytes typed = read_pin(std::nullopt, "Type the recovery code back");
    try {
      if (vault::RecoveryCode::parse(typed.reveal_text()).bits().equals(code.bits().reveal()))
        return;
      std::cerr << "idvault: that is not the code shown\n";
    } catch (const vault::FormatError& error) {
      std::cerr << "idvault: " << error.what() << "\n";
    }
    if (attempt == 3)
      throw UsageError("the recovery code was not typed back; nothing was uploaded");
  }
}

void print_devices(const nlohmann::json& result) {
  std::cout << "devices of account " << result.value("account_url", std::string()) << "\n";
  for (const auto& device : result.value("devices", nlohmann::json::array())) {
    std::cout << "  " << device.value("id", std::string())
              << (device.value("this_device", false) ? "  (this device)" : "")
              << (device.value("revoked", false) ? "  revoked" : "") << "\n";
  }
  const auto requests = result.value("requests", nlohmann::json::array());
  if (requests.empty()) return;
  std::cout << "join requests (approve one only if the new device shows the same digits):\n";
  for (const auto& request : requests) {
    std::cout << "  " << request.value("id", std::string()) << "  device "
              << request.value("device_id", std::string()) << "  shows "
              << request.value("code", std::string()) << "\n";
  }
}

int cloud_init(const po::variables_map& vm, const std::string& url) {
  const vault::RecoveryCode code = vault::RecoveryCode::generate();
  if (auto file = optional_value<std::string>(vm, "recovery-code-file")) {
    write_code_file(*file, code.printed());
  } else {
    show_and_confirm_code(code);
  }
  AgentClient agent(agent_socket_path());
  SecretRequest request("cloud.init", agent.next_id());
  request.add_plain("url", url);
  if (auto name = optional_value<std::string>(vm, "device-name"))
    request.add_plain("device_name", *name);
  request.add_text("recovery_code", code.printed());
  nlohmann::json result = agent.call(request);
  if (wants_json(vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "cloud account created: " << result.value("account_url", std::string()) << "\n"
            << "this device: " << result.value("device_id", std::string()) << "\n"
            << "ways to unlock: this token and the recovery code\n"
            << "uploaded: " << result.value("elements", 0) << " elements\n"
            << "on another device: idvault cloud join "
            << result.value("account_url", std::string()) << "\n";
  return kExitOk;
}

int cloud_join(const po::variables_map& vm, const std::string& account_url) {
  AgentClient agent(agent_socket_path());
  SecretRequest request = pin_request(agent, "cloud.join", vm);
  request.add_plain("account_url", account_url);
  if (auto name = optional_value<std::string>(vm, "device-name"))
    request.add_plain("device_name", *name);
  nlohmann::json asked = agent.call(request);
  const bool json = wants_json(vm);
  if (!json) {
    std::cout << "join requested as device " << asked.value("device_id", std::string()) << "\n"
              << "this device shows: " << asked.value("code", std::string()) << "\n"
              << "on an enrolled device run 'idvault devices' and approve the request that shows "
                 "the same digits ('idvault devices approve ID')\n"
              << std::flush;
  }
  if (vm.count("no-wait")) {
    if (json) std::cout << asked.dump(2) << "\n";
    return kExitOk;
  }
  for (;;) {
    nlohmann::json state = agent.call("cloud.join.finish");
    if (state.value("status", std::string()) == "joined") {
      if (json) {
        state["code"] = asked.value("code", std::string());
        std::cout << state.dump(2) << "\n";
      } else {
        std::cout << "joined: " << state.value("elements", 0) << " elements now on this device\n";
      }
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

int run_cloud(const Args& args) {
  CommandLine command(
      "idvault cloud init URL [--recovery-code-file F] [--device-name NAME] [--json]\n"
      "       idvault cloud join ACCOUNT_URL [--pin-file F] [--device-name NAME] [--no-wait] "
      "[--json]",
      "init: puts this vault in an account on the idvault-cloud server at URL. A recovery\n"
      "code is made and shown once (typed back), or written to a new file with\n"
      "--recovery-code-file: this token and the code are then two independent ways to\n"
      "unlock. Prints the account's URL, which other devices join.\n"
      "join: on a token with no vault, asks to join the account; the digits it shows must be\n"
      "the ones 'idvault devices' shows on the device that approves it. Waits for the\n"
      "approval unless --no-wait.");
  command.argument("ACTION", true).argument("URL", true);
  add_pin_options(command);
  command.options.add_options()("recovery-code-file", po::value<std::string>(),
                                "init: write the recovery code to this new file (mode 0600)")(
      "device-name", po::value<std::string>(),
      "this device's name in the account (1-64 of A-Z a-z 0-9 . _ -; default: the host name)")(
      "no-wait", "join: return once asked; the agent finishes the join when approved");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const std::string action = (*vm)["ACTION"].as<std::string>();
  const std::string url = (*vm)["URL"].as<std::string>();
  if (action == "init") return cloud_init(*vm, url);
  if (action == "join") return cloud_join(*vm, url);
  throw UsageError("unknown action '" + action +
                   "'; usage: idvault cloud init URL | cloud join URL");
}

int run_devices(const Args& args) {
  CommandLine command(
      "idvault devices [list | approve ID | revoke ID] [--json]",
      "The devices of this vault's cloud account and the pending join requests, each with\n"
      "the digits its device shows. approve ID enrols the device that asked (compare the\n"
      "digits first).");
  command.argument("ACTION", false).argument("ID", false);
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const std::string action = optional_value<std::string>(*vm, "ACTION").value_or("list");
  const auto id = optional_value<std::string>(*vm, "ID");
  AgentClient agent(agent_socket_path());
  nlohmann::json result;
  if (action == "list") {
    result = agent.call("devices");
  } else if (action == "approve" || action == "revoke") {
    if (!id) throw UsageError("usage: idvault devices " + action + " ID");
    result = agent.call("devices." + action, {{"id", *id}});
  } else {
    throw UsageError("unknown action '" + action +
                     "'; usage: idvault devices [list|approve ID|revoke ID]");
  }
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  if (action == "list") {
    print_devices(result);
  } else {
    std::cout << "device " << result.value("device_id", std::string()) << " "
              << (action == "approve" ? "approved" : "revoked") << "\n";
  }
  return kExitOk;
}

int run_sync(const Args& args) {
  CommandLine command("idvault sync [--json]",
                      "Sends this device's changes to the cloud account and fetches the others'.");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("cloud.sync");
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "sent " << result.value("pushed", 0) << ", received " << result.value("pulled", 0)
            << ", conflicts " << result.value("conflicts", 0);
  // Receipts, attestations and element errors; refused ones are in the agent's log.
  if (result.contains("notes_pushed")) {
    std::cout << "; shares and notes sent " << result.value("notes_pushed", 0) << ", received "
              << result.value("notes_pulled", 0);
    if (result.value("notes_refused", 0) > 0)
      std::cout << ", refused " << result.value("notes_refused", 0) << " (see the agent's log)";
  }
  std::cout << "\n";
  return kExitOk;
}

int run_resolve(const Args& args) {
  CommandLine command(
      "idvault resolve TYPE --take local|remote [--field FIELD] [--json]",
      "Settles the conflicts 'idvault list' shows on an element (one field with --field,\n"
      "else all): local keeps this device's value, remote the other device's. Sent to the\n"
      "account at once, so every device sees the same.");
  command.argument("TYPE", true);
  command.options.add_options()("take", po::value<std::string>(), "local or remote")(
      "field", po::value<std::string>(), "only this field (as 'idvault list' names it)");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const auto take = optional_value<std::string>(*vm, "take");
  if (!take || (*take != "local" && *take != "remote"))
    throw UsageError("--take local or --take remote is required");
  nlohmann::json params = {{"type", (*vm)["TYPE"].as<std::string>()}, {"take", *take}};
  if (auto field = optional_value<std::string>(*vm, "field")) params["field"] = *field;
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("resolve", params);
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "settled " << result.value("settled", 0) << " conflict(s)"
            << (result.value("pushed", 0) > 0 ? ", sent to the account" : "") << "\n";
  return kExitOk;
}

}  // namespace idvault::cli
