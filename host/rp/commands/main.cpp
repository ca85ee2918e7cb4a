// idvault-rp: the relying party's tool. A service keeps its RSA key on an HSM (PKCS#11),
// asks holders for data with a link, decrypts what they share on the HSM, tells them
// what to fix, and can run the callback server with a demo page.
#include "common/cli/command_verbs.h"
#include "host/rp/commands/rp_commands.h"

namespace {

constexpr const char* kUsage =
    "usage: idvault-rp COMMAND [options]   (idvault-rp COMMAND --help for its options)\n"
    "  keygen    make the service's RSA key pair (and seal key) on the token; prints the PEM\n"
    "  request   print an authorization link (idvault:// or tg://) for a scope and nonce\n"
    "  decrypt   decrypt received shares on the HSM; one JSON line per input\n"
    "  errors    sign PassportElementErrors about a received share for its holder\n"
    "  serve     HTTP callback endpoint and demo page\n"
    "  forget    remove a received result from serve's store at once\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace idvault::rp;
  return idvault::cli::run_command_verbs("idvault-rp", kUsage,
                                         {{"keygen", run_keygen},
                                          {"request", run_request},
                                          {"decrypt", run_decrypt},
                                          {"errors", run_errors},
                                          {"serve", run_serve},
                                          {"forget", run_forget}},
                                         argc, argv);
}
