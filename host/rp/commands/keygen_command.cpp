// idvault-rp keygen: the service key is born on the token and never leaves it, and so is
// the seal key that wraps the data keys of the results serve stores (result_sealer.h).
#include <iostream>
#include <nlohmann/json.hpp>

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

namespace {

// The token's seal key labelled `label`, made (AES-256, sensitive, not extractable) when
// it has none; one seal key serves every service key on the token.
p11::Object ensure_seal_key(const ServiceToken& service, const std::string& label) {
  try {
    p11::Object existing = p11::find_key(service.token(), CKO_SECRET_KEY, label);
    std::cerr << "idvault-rp keygen: keeps the token's seal key " << existing.uri() << "\n";
    return existing;
  } catch (const p11::ObjectNotFound&) {
    // none yet
  }
  const SecretBytes id = p11::generate_random(*service.token(), 8);
  p11::Object made = p11::generate_aes256_key(
      service.token(), {label, p11::Bytes(id.reveal().begin(), id.reveal().end())});
  std::cerr << "idvault-rp keygen: made AES-256 seal key " << made.uri()
            << " (sensitive, not extractable; wraps the data keys of stored results)\n";
  return made;
}

}  // namespace

int run_keygen(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp keygen");
  std::string module;
  std::string token_uri;
  std::string label;
  std::string seal_label = kDefaultSealKeyLabel;
  unsigned bits = 2048;
  pin::add_module_option(options, module);
  options.add_options()("token", po::value(&token_uri)->required(),
                        "token URI (RFC 7512), e.g. pkcs11:token=service")(
      "label", po::value(&label), "label of the new key pair (the URI's object=)")(
      "bits", po::value(&bits)->default_value(2048), "RSA modulus size: 2048, 3072 or 4096")(
      "seal-label", po::value(&seal_label),
      "label of the AES-256 seal key serve stores results under (made when the token has "
      "none; default idvault-rp-seal)")(
      "seal-only", "make only the seal key (a token set up before results were sealed)");
  pin::add_pin_file_option(options);
  options.add_options()("json",
                        "print {key_uri, algorithm, public_key_pem, public_key_sha256, "
                        "seal_key_uri} instead of the PEM");
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-rp keygen --module SO --token URI --label L "
      "[--bits 2048|3072|4096] [--seal-label L] [--pin-file F] [--json]\n"
      "       idvault-rp keygen --module SO --token URI --seal-only [--seal-label L]");
  if (!vm) return 0;
  const bool seal_only = vm->count("seal-only") != 0;
  if (bits != 2048 && bits != 3072 && bits != 4096)
    throw cli::UsageError("--bits must be 2048, 3072 or 4096");
  if (seal_only && vm->count("label")) throw cli::UsageError("--seal-only makes no --label key");
  if (!seal_only && label.empty()) throw cli::UsageError("--label must not be empty");
  if (seal_label.empty()) throw cli::UsageError("--seal-label must not be empty");

  ServiceToken service = ServiceToken::open(module, token_uri, pin::read_token_pin(*vm));
  if (seal_only) {
    const p11::Object seal = ensure_seal_key(service, seal_label);
    if (vm->count("json"))
      std::cout << nlohmann::json{{"seal_key_uri", seal.uri()}}.dump(2) << "\n";
    return 0;
  }
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
  std::cerr << "idvault-rp keygen: made RSA-" << bits << " key " << pair.private_key.uri()
            << " (sensitive, not extractable)\n";
  const p11::Object seal = ensure_seal_key(service, seal_label);
  if (vm->count("json")) {
    std::cout << keygen_json(pair.private_key.uri(), "RSA-" + std::to_string(bits),
                             p11::spki_pem(*public_key), p11::spki_fingerprint(*public_key),
                             seal.uri())
              << "\n";
  } else {
    std::cout << p11::spki_pem(*public_key);
  }
  return 0;
}

}  // namespace idvault::rp
