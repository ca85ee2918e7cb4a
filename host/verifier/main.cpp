// idvault-verifier: a verification provider checks a holder's documents (shared with it
// like with any service) and signs, on its token, an attestation per element that relying
// parties can rely on for as long as the element is unchanged.
#include "common/cli/command_verbs.h"
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
  using namespace idvault::verifier;
  return idvault::cli::run_command_verbs(
      "idvault-verifier", kUsage,
      {{"keygen", run_keygen}, {"attest", run_attest}, {"verify", run_verify}}, argc, argv);
}
