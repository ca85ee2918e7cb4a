// shares, attestation, errors: what the vault remembers besides documents — the signed
// log of shares, verification providers' attestations, and errors services reported.
#include <iostream>

#include "common/cli/cli_error.h"
#include "common/cli/command_line.h"
#include "common/json_fields.h"
#include "common/utc_time.h"
#include "host/cli/agent_client.h"
#include "host/cli/agent_messages.h"
#include "host/cli/commands.h"
#include "host/cli/local_files.h"
#include "vault/model/element_error.h"
#include "vault/model/errors.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::cli {
namespace {

nlohmann::json json_file(const std::string& path) {
  try {
    return json_fields::parse(read_text(path), path);
  } catch (const vault::FormatError& error) {
    throw UsageError(error.what());
  }
}

}  // namespace

int run_shares(const Args& args) {
  CommandLine command(
      "idvault shares [--verify] [--json]",
      "Lists every share from the agent's signed, hash-chained receipt log, and (unlocked)\n"
      "which device made it: in a cloud account every device's shares sync to every device.\n"
      "--verify checks that every receipt's signature is valid, that it follows a receipt\n"
      "the log holds (or starts a branch: two devices that shared while offline leave two),\n"
      "and that it is signed by the identity key on the token (or one it had before a\n"
      "recovery) or by a device the account log lists; it fails naming every broken entry.\n"
      "It needs the vault unlocked. It cannot tell that receipts were deleted.");
  command.options.add_options()("verify", "check the chain and the signatures");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const bool verify = vm->count("verify") > 0;
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("shares", {{"verify", verify}});
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
  } else {
    if (result.contains("identity_key_sha256")) {
      std::cout << "identity key sha256: " << result["identity_key_sha256"].get<std::string>()
                << "\n";
    }
    const auto& shares = result.at("shares");
    if (shares.empty()) std::cout << "no shares yet\n";
    for (const auto& share : shares) {
      const nlohmann::json& signed_fields = share.at("receipt").at("signed");
      std::string elements;
      auto hashes = signed_fields.find("elements");
      if (hashes != signed_fields.end() && hashes->is_object()) {
        for (const auto& [type, hash] : hashes->items())
          elements += (elements.empty() ? "" : ", ") + type;
      }
      std::string device;
      if (share.value("this_device", false)) {
        device = "  this device";
      } else if (share.contains("device_id")) {
        device = "  device " + one_line(share["device_id"].get<std::string>(), 64);
      } else if (share.contains("this_device")) {
        device = "  unknown device";
      }
      std::cout << "#" << share.value("sequence", 0) << device << "  "
                << utc_date_time(signed_fields.value("time", std::int64_t{0})) << "  service "
                << one_line(signed_fields.value("service_id", std::string()), 80) << "  key "
                << signed_fields.value("service_key_sha256", std::string()).substr(0, 16) << "  "
                << elements << "\n";
    }
  }
  if (!verify) return kExitOk;
  const nlohmann::json& verified = result.at("verified");
  if (!verified.value("valid", false)) {
    // Every receipt at fault, the first as before ("at share #N: why").
    std::string what;
    for (const auto& problem : verified.value("problems", nlohmann::json::array())) {
      what += std::string(what.empty() ? "at " : "; ") + "share #" +
              problem.value("sequence", nlohmann::json(0)).dump() + ": " +
              one_line(problem.value("reason", std::string()));
    }
    if (what.empty()) what = "at an entry: " + one_line(verified.value("reason", std::string()));
    if (verified.contains("account_problem"))
      what += " (" + one_line(verified["account_problem"].get<std::string>()) + ")";
    throw OperationFailed("receipt log broken " + what);
  }
  if (!wants_json(*vm)) {
    std::cout << "receipt log verified: " << verified.value("count", 0) << " share(s) in "
              << verified.value("heads", 0)
              << " branch(es), chains and signatures intact, all by this vault's identity key"
              << (verified.value("identity_keys", 1) > 1 ? " or its keys before recovery" : "")
              << (verified.value("device_keys", 0) > 0 ? " or a device of the account" : "")
              << "\n";
  }
  return kExitOk;
}

int run_attestation(const Args& args) {
  CommandLine command(
      "idvault attestation add F [--json] | idvault attestation list [--json]",
      "Keeps attestations from verification providers (signed statements that a document\n"
      "was checked); they go along with the element when it is shared.");
  command.argument("ACTION", true).argument("FILE", false);
  add_json_option(command, "print JSON, for programs (add: the ids kept; list: the attestations)");
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const std::string action = (*vm)["ACTION"].as<std::string>();
  const auto file = optional_value<std::string>(*vm, "FILE");
  if (action == "add") {
    if (!file) throw UsageError("missing FILE; usage: idvault attestation add F");
    // One attestation, or the array idvault-verifier attest prints (one per element).
    nlohmann::json given = json_file(*file);
    nlohmann::json attestations = given.is_array() ? given : nlohmann::json::array({given});
    for (const auto& attestation : attestations) {
      if (!attestation.is_object()) throw UsageError(*file + ": expected attestation objects");
    }
    AgentClient agent(agent_socket_path());
    nlohmann::json added = nlohmann::json::array();
    for (const auto& attestation : attestations) {
      nlohmann::json result = agent.call("attestation.add", {{"attestation", attestation}});
      if (!wants_json(*vm)) {
        std::cout << "attestation " << result.value("id", std::int64_t{0}) << " added for "
                  << one_line(result.value("element_type", std::string()), 40) << "\n";
      }
      added.push_back(std::move(result));
    }
    if (wants_json(*vm)) std::cout << added.dump(2) << "\n";
    return kExitOk;
  }
  if (action == "list") {
    if (file) throw UsageError("list takes no FILE; usage: idvault attestation list [--json]");
    AgentClient agent(agent_socket_path());
    nlohmann::json list = agent.call("attestation.list");
    if (wants_json(*vm)) {
      std::cout << list.dump(2) << "\n";
    } else if (list.empty()) {
      std::cout << "no attestations\n";
    } else {
      for (const auto& attestation : list) {
        std::cout << one_line(attestation.value("element_type", std::string("?")), 40) << "  "
                  << one_line(attestation.dump(), 200) << "\n";
      }
    }
    return kExitOk;
  }
  throw UsageError("unknown action '" + one_line(action, 40) + "'; usage: " + command.synopsis);
}

int run_errors(const Args& args) {
  CommandLine command(
      "idvault errors add F [--json]",
      "Records what a service asked you to fix in a share you made: the signed error list\n"
      "it sent (idvault-rp errors, or its callback's answer). It is kept only if it is\n"
      "signed by the service that share went to. The errors show in 'idvault list' and\n"
      "'idvault get' until you replace that element with 'idvault put'.");
  command.argument("ACTION", true).argument("FILE", true);
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const std::string action = (*vm)["ACTION"].as<std::string>();
  if (action != "add")
    throw UsageError("unknown action '" + one_line(action, 40) + "'; usage: " + command.synopsis);
  const std::string path = (*vm)["FILE"].as<std::string>();
  nlohmann::json signed_errors = json_file(path);
  try {
    (void)vault::signed_element_errors_from_json(signed_errors);
  } catch (const vault::FormatError& error) {
    throw UsageError(path + ": not a signed error list from a service (" +
                     std::string(error.what()) + ")");
  }
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("errors.add", {{"errors", signed_errors}});
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "recorded " << result["stored"].size() << " error(s) from service "
            << one_line(result.value("service_id", std::string()), 64) << "; see 'idvault list'\n";
  return kExitOk;
}

}  // namespace idvault::cli
