// idvault-rp keygen: the service key is born on the token and never leaves it.
#include <iostream>

#include "common/cli/command_line.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "host/rp/service/service_token.h"
#include "pkcs11/error.h"
#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/random.h"

namespace idvault::rp {

namespace po = boost::program_options;

int run_keygen(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp keygen");
  std::string module;
  std::string token_uri;
  std::string label;
  unsigned bits = 2048;
  pin::add_module_option(options, module);
  options.add_options()("token", po::value(&token_uri)->required(),
                        "token URI (RFC 7512), e.g. pkcs11:token=service")(
      "label", po::value(&label)->required(), "label of the new key pair (the URI's object=)")(
      "bits", po::value(&bits)->default_value(2048), "RSA modulus size: 2048, 3072 or 4096");
  pin::add_pin_file_option(options);
  options.add_options()(
      "json", "print {key_uri, algorithm, public_key_pem, public_key_sha256} instead of the PEM");
  auto vm = cli::parse_command_line(args, options,
                                    "usage: idvault-rp keygen --module SO --token URI --label L "
                                    "[--bits 2048|3072|4096] [--pin-file F] [--json]");
  if (!vm) return 0;
  if (bits != 2048 && bits != 3072 && bits != 4096)
    throw cli::UsageError("--bits must be 2048, 3072 or 4096");
  if (label.empty()) throw cli::UsageError("--label must not be empty");

  ServiceToken service = ServiceToken::open(module, token_uri, pin::read_token_pin(*vm));
  try {
    (void)p11::find_key(service.token(), CKO_PRIVATE_KEY, label);
    std::cerr << "idvault-rp keygen: the token already has a private key labelled '" << label
              << "'; choose another --label\n";
    return 1;
  } catch (const p11::ObjectNotFound&) {
    // the label is free
  }
  const SecretBytes id = p11::generate_random(*service.token(), 8);
  p11::KeySpec spec{label, p11::Bytes(id.reveal().begin(), id.reveal().end())};
  const p11::KeyPair pair = p11::generate_rsa_key_pair(service.token(), bits, spec);
  const openssl::PKey public_key = p11::public_key_of(pair.public_key);
  if (vm->count("json")) {
    std::cout << keygen_json(pair.private_key.uri(), "RSA-" + std::to_string(bits),
                             p11::spki_pem(*public_key), p11::spki_fingerprint(*public_key))
              << "\n";
  } else {
    std::cout << p11::spki_pem(*public_key);
  }
  std::cerr << "idvault-rp keygen: made RSA-" << bits << " key " << pair.private_key.uri()
            << " (sensitive, not extractable)\n";
  return 0;
}

}  // namespace idvault::rp
