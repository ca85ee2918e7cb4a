// idvault-rp: the relying party's tool. A service keeps its RSA key on an HSM (PKCS#11),
// asks holders for data with a link, decrypts what they share on the HSM, tells them
// what to fix, and can run the callback server with a demo page.
#include <iostream>
#include <string>
#include <vector>

#include "host/rp/cli_support.h"
#include "host/rp/rp_commands.h"

namespace {

constexpr const char* kUsage =
    "usage: idvault-rp COMMAND [options]   (idvault-rp COMMAND --help for its options)\n"
    "  keygen    make the service's RSA key pair on the token; prints the public key PEM\n"
    "  request   print an authorization link (idvault:// or tg://) for a scope and nonce\n"
    "  decrypt   decrypt received shares on the HSM; one JSON line per input\n"
    "  errors    sign PassportElementErrors about a received share for its holder\n"
    "  serve     HTTP callback endpoint and demo page\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string verb = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (verb == "keygen") return idvault::rp::run_keygen(args);
    if (verb == "request") return idvault::rp::run_request(args);
    if (verb == "decrypt") return idvault::rp::run_decrypt(args);
    if (verb == "errors") return idvault::rp::run_errors(args);
    if (verb == "serve") return idvault::rp::run_serve(args);
    std::cerr << "idvault-rp: unknown command '" << verb.substr(0, 40) << "'\n" << kUsage;
    return 2;
  } catch (const idvault::rp::UsageError& e) {
    std::cerr << "idvault-rp " << verb << ": " << e.what() << " (see idvault-rp " << verb
              << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "idvault-rp " << verb << ": " << e.what() << "\n";
    return 1;
  }
}
