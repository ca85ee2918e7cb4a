// The idvault subcommands, one function each, grouped by file:
//   command_vault.cpp       init, unlock, lock, status, tokens
//   command_elements.cpp    put, list, get, rm
//   command_authorize.cpp   authorize
//   command_records.cpp     shares, attestation, errors
//   command_cloud.cpp       cloud, devices, sync, resolve
// Each parses its own arguments (args excludes the verb), talks to the agent, prints
// for people (or JSON with --json where it reads), returns the exit status, and throws
// CliError / AgentError for main() to turn into one line.
#pragma once

#include <string>
#include <vector>

namespace idvault::cli {

using Args = std::vector<std::string>;

int run_init(const Args& args);
int run_recover(const Args& args);
int run_recovery(const Args& args);
int run_unlock(const Args& args);
int run_lock(const Args& args);
int run_status(const Args& args);
int run_tokens(const Args& args);

int run_put(const Args& args);
int run_list(const Args& args);
int run_get(const Args& args);
int run_rm(const Args& args);

int run_authorize(const Args& args);

int run_shares(const Args& args);
int run_attestation(const Args& args);
int run_errors(const Args& args);

int run_cloud(const Args& args);
int run_devices(const Args& args);
int run_sync(const Args& args);
int run_resolve(const Args& args);

}  // namespace idvault::cli
