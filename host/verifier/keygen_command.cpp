// idvault-verifier keygen: the attestation key is born on the token and never leaves it.
#include <iostream>

#include "common/cli/command_line.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/service/service_token.h"
#include "host/verifier/verifier_commands.h"
#include "pkcs11/error.h"
#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/random.h"

namespace idvault::verifier {

namespace po = boost::program_options;

int run_keygen(const std::vector<std::string>& args) {
  po::options_description options("idvault-verifier keygen");
  std::string module;
  std::string token_uri;
  std::string label;
  pin::add_module_option(options, module);
  options.add_options()("token", po::value(&token_uri)->required(), "token URI (RFC 7512)")(
      "label", po::value(&label)->required(), "label of the new key pair");
  pin::add_pin_file_option(options);
  options.add_options()(
      "json", "print {key_uri, algorithm, public_key_pem, public_key_sha256} instead of the PEM");
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-verifier keygen --module SO --token URI --label L [--pin-file F] [--json]");
  if (!vm) return 0;
  if (label.empty()) throw cli::UsageError("--label must not be empty");
  rp::ServiceToken provider = rp::ServiceToken::open(module, token_uri, pin::read_token_pin(*vm));
  try {
    (void)p11::find_key(provider.token(), CKO_PRIVATE_KEY, label);
    std::cerr << "idvault-verifier keygen: the token already has a private key labelled '" << label
              << "'; choose another --label\n";
    return 1;
  } catch (const p11::ObjectNotFound&) {
    // the label is free
  }
  const SecretBytes id = p11::generate_random(*provider.token(), 8);
  const p11::KeyPair pair = p11::generate_ec_p256_key_pair(
      provider.token(), {label, p11::Bytes(id.reveal().begin(), id.reveal().end())});
  const openssl::PKey public_key = p11::public_key_of(pair.public_key);
  if (vm->count("json")) {
    std::cout << rp::keygen_json(pair.private_key.uri(), "EC P-256", p11::spki_pem(*public_key),
                                 p11::spki_fingerprint(*public_key))
              << "\n";
  } else {
    std::cout << p11::spki_pem(*public_key);
  }
  std::cerr << "idvault-verifier keygen: made EC P-256 key " << pair.private_key.uri()
            << " (sensitive, not extractable)\n";
  return 0;
}

}  // namespace idvault::verifier
