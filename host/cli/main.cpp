// idvault: the holder's wallet on the command line. It holds no keys and no PIN beyond
// one call: everything goes through idvault-agent on $IDVAULT_SOCK, like ssh-add.
#include <cstring>
#include <iostream>
#include <map>

#include "common/cli/cli_error.h"
#include "common/process_hardening.h"
#include "host/cli/agent_client.h"
#include "host/cli/agent_messages.h"
#include "host/cli/commands.h"

using namespace idvault::cli;

namespace {

struct Command {
  int (*run)(const Args&);
  const char* summary;
};

const std::map<std::string, Command, std::less<>>& command_table() {
  static const std::map<std::string, Command, std::less<>> table = {
      {"init", {run_init, "create the vault on the agent's token"}},
      {"recover", {run_recover, "move a vault onto a new token with its recovery password"}},
      {"recovery", {run_recovery, "add (or replace) the recovery password of a vault"}},
      {"unlock", {run_unlock, "log the agent in to the token (asks for the PIN)"}},
      {"lock", {run_lock, "log the agent out of the token"}},
      {"status", {run_status, "is the vault there, is it unlocked"}},
      {"tokens", {run_tokens, "tokens the agent sees, with their URIs and capabilities"}},
      {"put", {run_put, "store an element (data, scans)"}},
      {"list", {run_list, "list the stored elements"}},
      {"get", {run_get, "show an element; --files-dir saves its scans"}},
      {"rm", {run_rm, "delete an element"}},
      {"authorize", {run_authorize, "share with a service that sent a request link"}},
      {"shares", {run_shares, "the signed log of shares; --verify checks it"}},
      {"attestation", {run_attestation, "add or list verification providers' attestations"}},
      {"errors", {run_errors, "record errors a service reported about an element"}},
      {"cloud", {run_cloud, "put the vault in a cloud account, or join one from a new device"}},
      {"devices", {run_devices, "the account's devices and join requests; approve a new one"}},
      {"sync", {run_sync, "send this device's changes to the cloud and fetch the others'"}},
      {"resolve", {run_resolve, "settle a conflict between two devices' edits of an element"}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: idvault COMMAND [options]   (idvault COMMAND --help for each)\n\ncommands:\n";
  for (const auto& [name, command] : command_table()) {
    std::string padded = name;
    padded.resize(13, ' ');
    out << "  " << padded << command.summary << "\n";
  }
  out << "\nThe agent is found at $IDVAULT_SOCK (default " << agent_socket_path().string() << ").\n"
      << "PINs come from --pin-file, $IDVAULT_ASKPASS, the pinentry in $IDVAULT_PINENTRY, or the "
         "terminal; never from "
         "argv.\n";
}

// One line on stderr, whatever the failure: scripts read the exit status, people the line.
int fail(int status, std::string_view message) {
  std::cerr << "idvault: " << one_line(message, 600) << "\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // A PIN and decrypted scans pass through this process: no core files, no ptrace; what
  // it writes (scans from get, bundles, recovery codes) is private from the first byte.
  idvault::harden_process();

  if (argc < 2)
    return fail(kExitUsage,
                "missing command; usage: idvault COMMAND [options] (idvault --help lists them)");
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  const auto& table = command_table();
  auto command = table.find(verb);
  if (command == table.end())
    return fail(kExitUsage,
                "unknown command '" + one_line(verb, 40) + "' (idvault --help lists them)");
  try {
    return command->second.run(Args(argv + 2, argv + argc));
  } catch (const CliError& error) {
    return fail(error.exit_code(), error.what());
  } catch (const AgentError& error) {
    return fail(kExitFailed, describe(error));
  } catch (const std::exception& error) {
    return fail(kExitFailed, error.what());
  }
}
