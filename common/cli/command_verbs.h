// The main of a tool made of verbs (idvault-rp keygen, idvault-verifier attest, ...):
// the verb from argv[1], its own options after it (command_line.h), and one exit status.
#pragma once

#include <string>
#include <vector>

namespace idvault::cli {

// One verb of a multi-command tool.
struct CommandVerb {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};

// The tool's main: picks the verb from argv[1] and runs it with the rest; --help, -h or
// no verb prints usage. Exit status 2 and one stderr line for a usage error, 1 and one
// line naming the verb for any other failure. Hardens the process first (no core files,
// not dumpable, umask 077).
[[nodiscard]] int run_command_verbs(const char* program, const char* usage,
                                    const std::vector<CommandVerb>& verbs, int argc, char** argv);

}  // namespace idvault::cli
