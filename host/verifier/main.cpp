// idvault-verifier: a verification provider checks a holder's documents (shared with it
// like with any service) and signs, on its token, an attestation per element that relying
// parties can rely on for as long as the element is unchanged.
#include <iostream>

#include "host/rp/cli_support.h"
#include "host/verifier/verifier_commands.h"

namespace {

constexpr const char* kUsage =
    "usage: idvault-verifier COMMAND [options]   (idvault-verifier COMMAND --help for its "
    "options)\n"
    "  keygen   make the attestation key (EC P-256) on the token; prints the public key PEM\n"
    "  attest   decrypt a share sent to the provider and sign an attestation per element\n"
    "  verify   check attestations: signature, expiry, trusted key\n"
    "(the provider's decryption key and request links come from idvault-rp keygen / request)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string verb = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (verb == "keygen") return idvault::verifier::run_keygen(args);
    if (verb == "attest") return idvault::verifier::run_attest(args);
    if (verb == "verify") return idvault::verifier::run_verify(args);
    std::cerr << "idvault-verifier: unknown command '" << verb.substr(0, 40) << "'\n" << kUsage;
    return 2;
  } catch (const idvault::rp::UsageError& e) {
    std::cerr << "idvault-verifier " << verb << ": " << e.what() << " (see idvault-verifier "
              << verb << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "idvault-verifier " << verb << ": " << e.what() << "\n";
    return 1;
  }
}
