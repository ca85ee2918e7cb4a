// idvault-token-demo: the PKCS#11 layer end to end on one token.
//
// Finds the token by RFC 7512 URI, logs in with a PIN read from a file, makes a service
// key (RSA-2048), an identity key (EC P-256) and a master key (AES-256) on it, all
// non-extractable, and uses each the way idvault will: OpenSSL encrypts a value secret to
// the service key on the host and the token decrypts it; the token signs and OpenSSL
// verifies; the master key wraps and unwraps a secret. Prints each step and its outcome.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "common/openssl_owners.h"
#include "host/pin/pin_source.h"
#include "pkcs11/ecdsa.h"
#include "pkcs11/error.h"
#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/public_key.h"
#include "pkcs11/random.h"
#include "pkcs11/rsa.h"
#include "pkcs11/token_resolver.h"
#include "vault/keys/token_keys.h"
#include "vault/model/errors.h"

namespace po = boost::program_options;
using idvault::SecretBytes;
using idvault::p11::Bytes;

namespace {

struct DemoFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void step(const std::string& what, const std::string& outcome) {
  std::cout << "[ok]   " << what << ": " << outcome << "\n";
}

void check(bool ok, const std::string& what) {
  if (!ok) throw DemoFailure(what);
}

// OpenSSL on the host, as a holder's app encrypts a credentials secret for a service.
Bytes encrypt_for_service(const std::string& public_key_pem, const SecretBytes& secret,
                          bool sha256 = false) {
  const idvault::openssl::Bio bio(
      BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  const idvault::openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  const idvault::openssl::PKeyCtx ctx(key ? EVP_PKEY_CTX_new(key.get(), nullptr) : nullptr);
  size_t length = 0;
  check(
      ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
          EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), sha256 ? EVP_sha256() : EVP_sha1()) == 1 &&
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), sha256 ? EVP_sha256() : EVP_sha1()) == 1 &&
          EVP_PKEY_encrypt(ctx.get(), nullptr, &length, secret.reveal().data(), secret.size()) == 1,
      "OpenSSL could not set up RSA-OAEP encryption");
  Bytes out(length);
  check(
      EVP_PKEY_encrypt(ctx.get(), out.data(), &length, secret.reveal().data(), secret.size()) == 1,
      "OpenSSL RSA-OAEP encryption failed");
  out.resize(length);
  return out;
}

bool verify_es256(const Bytes& spki_der, const Bytes& message, const Bytes& raw_signature) {
  const unsigned char* p = spki_der.data();
  const idvault::openssl::PKey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  const Bytes der = idvault::p11::ecdsa_raw_to_der(raw_signature);
  const idvault::openssl::DigestCtx ctx(EVP_MD_CTX_new());
  return key && ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size()) == 1;
}

std::string fingerprint_of(const idvault::p11::Object& key) {
  return idvault::p11::spki_fingerprint(*idvault::p11::public_key_of(key));
}

int run(const std::string& module_path, const std::string& token_uri, const std::string& pin_file) {
  auto module = idvault::p11::Module::load(module_path);
  step("load module", module->path().string() + " (" + module->description() + ")");

  auto token = idvault::p11::resolve_token(module, idvault::p11::Uri::parse(token_uri));
  step("find token", token_uri + " -> " + token->uri());

  std::cout << "capabilities of token '" << token->label() << "':\n";
  std::istringstream caps(token->capabilities().describe());
  for (std::string line; std::getline(caps, line);) std::cout << "         " << line << "\n";

  const SecretBytes pin = idvault::pin::read_pin(pin_file, "Token PIN");
  auto login = idvault::p11::Login::open(token, pin);
  step("log in", "user PIN accepted");

  const auto service = idvault::p11::generate_rsa_key_pair(token, 2048, {"service", {0x01}});
  step("generate service key (RSA-2048)", service.private_key.uri());
  std::cout << "         SPKI SHA-256 " << fingerprint_of(service.public_key) << "\n";
  const auto identity = idvault::p11::generate_ec_p256_key_pair(token, {"identity", {0x02}});
  step("generate identity key (EC P-256)", identity.private_key.uri());
  std::cout << "         SPKI SHA-256 " << fingerprint_of(identity.public_key) << "\n";
  const auto master = idvault::p11::generate_aes256_key(token, {"master", {0x03}});
  check(master.flag(CKA_SENSITIVE) && !master.flag(CKA_EXTRACTABLE),
        "the master key came out extractable");
  step("generate master key (AES-256)", master.uri());
  std::cout << "         sensitive, never extractable: its value cannot be read or wrapped out\n";

  // The keys as the vault sees them, found again by their URIs.
  const auto service_key =
      idvault::vault::TokenServiceKey::from_uri(token, service.private_key.uri());
  const auto identity_key =
      idvault::vault::TokenSigningKey::from_uri(token, identity.private_key.uri());
  const auto master_mode = idvault::vault::choose_master_key_mode(*token);
  const auto master_key =
      idvault::vault::TokenMasterKey::from_uri(token, master.uri(), master_mode);

  const SecretBytes secret = idvault::p11::generate_random(*token, 32);
  const Bytes ciphertext = encrypt_for_service(service_key.public_key_pem(), secret);
  const SecretBytes decrypted = service_key.decrypt_oaep_sha1(ciphertext);
  check(decrypted.equals(secret.reveal()), "the token decrypted something other than the secret");
  step("RSA-OAEP (SHA-1)",
       "OpenSSL encrypted 32 bytes to the service key; the token decrypted them back");

  // Advertised is not accepted: try OAEP with SHA-256 for real and report what the token says.
  try {
    const idvault::p11::RsaPrivateKey raw_service(service.private_key);
    const SecretBytes again =
        raw_service.decrypt_oaep(encrypt_for_service(service_key.public_key_pem(), secret, true),
                                 idvault::p11::OaepHash::sha256);
    check(again.equals(secret.reveal()), "OAEP-SHA256 decrypted to something else");
    step("RSA-OAEP (SHA-256) probe", "supported");
  } catch (const idvault::p11::UnsupportedMechanism& e) {
    step("RSA-OAEP (SHA-256) probe", std::string("not supported by this token: ") + e.what());
  }

  const Bytes message{'i', 'd', 'v', 'a', 'u', 'l', 't', ' ', 's', 'h', 'a',
                      'r', 'e', ' ', 'r', 'e', 'c', 'e', 'i', 'p', 't'};
  const Bytes signature = identity_key.sign_es256(message);
  check(verify_es256(identity_key.public_key_spki_der(), message, signature),
        "OpenSSL rejected the token's signature");
  step("ES256", "the token signed, OpenSSL verified the 64-byte r||s signature");

  const Bytes wrapped = master_key.wrap(secret);
  const SecretBytes unwrapped = master_key.unwrap(wrapped);
  check(unwrapped.equals(secret.reveal()), "unwrap returned something other than the secret");
  Bytes altered = wrapped;
  altered.back() ^= 0x01;
  bool rejected = false;
  try {
    (void)master_key.unwrap(altered);
  } catch (const idvault::vault::DecryptError&) {
    rejected = true;
  }
  check(rejected, "an altered wrapped secret was accepted");
  step(std::string("master key ") +
           (master_mode == idvault::vault::TokenMasterKey::Mode::key_wrap_pad
                ? "wrap/unwrap (CKM_AES_KEY_WRAP_PAD)"
                : "seal/open (CKM_AES_GCM)"),
       std::to_string(wrapped.size()) +
           " bytes wrapped, unwrapped on the token; an altered copy was rejected");

  login.close();
  step("log out", "sessions closed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options(
      "idvault-token-demo: exercise a PKCS#11 token the way idvault uses it");
  std::string module_path;
  std::string token_uri;
  std::string pin_file;
  options.add_options()("help,h", "show this help")(
      "module", po::value(&module_path)->required(),
      "PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so")(
      "token", po::value(&token_uri)->default_value("pkcs11:"),
      "RFC 7512 token URI, e.g. pkcs11:token=demo")(
      "pin-file", po::value(&pin_file)->required(),
      "file whose first line is the user PIN (never pass a PIN in argv)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help") != 0) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(vm);
    return run(module_path, token_uri, pin_file);
  } catch (const po::error& e) {
    std::cerr << "idvault-token-demo: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "idvault-token-demo: " << e.what() << "\n";
    return 1;
  }
}
