#include "common/cli/command_verbs.h"

#include <exception>
#include <iostream>

#include "common/cli/cli_error.h"
#include "common/process_hardening.h"

namespace idvault::cli {

int run_command_verbs(const char* program, const char* usage, const std::vector<CommandVerb>& verbs,
                      int argc, char** argv) {
  // The token PIN and decrypted personal data pass through these tools, as through the
  // holder's agent: no core files, no ptrace or /proc/PID/mem by same-uid processes.
  // Everything they create (serve's database and its WAL, decrypted files, keys) is
  // private from its first byte whatever umask they were started with.
  harden_process();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  const std::string verb = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    for (const CommandVerb& candidate : verbs) {
      if (verb == candidate.name) return candidate.run(args);
    }
    std::cerr << program << ": unknown command '" << verb.substr(0, 40) << "'\n" << usage;
    return 2;
  } catch (const UsageError& e) {
    std::cerr << program << " " << verb << ": " << e.what() << " (see " << program << " " << verb
              << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << " " << verb << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace idvault::cli
