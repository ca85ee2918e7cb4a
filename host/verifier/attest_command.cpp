// idvault-verifier attest: the provider received a share like any service, checked the
// documents (out of band: that is its business), and now signs what it checked.
#include <iostream>

#include "common/cli/command_line.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/service/service_token.h"
#include "host/rp/share/received_share.h"
#include "host/rp/share/share_intake.h"
#include "host/verifier/verifier_commands.h"
#include "vault/model/element_shape.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"

namespace idvault::verifier {

namespace po = boost::program_options;

namespace {

void refuse_missing(const vault::DecryptedFile& file, const std::string& slot,
                    const vault::DecryptedElement& element, const std::string& bundle_path) {
  if (file.missing()) {
    throw std::runtime_error(bundle_path + ": " + std::string(vault::to_string(element.type)) +
                             "." + slot +
                             " is missing from the bundle; the provider attests only what it saw");
  }
}

// An attestation binds the hashes of what the provider checked. A file named in the
// credentials but absent from the bundle was not seen, and an element without the files
// its type requires (a utility_bill with no page) gives nothing to bind: attesting either
// would vouch for whatever the holder later sends in their place.
void refuse_unseen_parts(const vault::DecryptedElement& element, const std::string& bundle_path) {
  const auto single = [&](const std::optional<vault::DecryptedFile>& file, const char* slot) {
    if (file) refuse_missing(*file, slot, element, bundle_path);
  };
  single(element.front_side, "front_side");
  single(element.reverse_side, "reverse_side");
  single(element.selfie, "selfie");
  for (std::size_t i = 0; i < element.files.size(); ++i)
    refuse_missing(element.files[i], "files[" + std::to_string(i) + "]", element, bundle_path);
  for (std::size_t i = 0; i < element.translation.size(); ++i)
    refuse_missing(element.translation[i], "translation[" + std::to_string(i) + "]", element,
                   bundle_path);
  vault::ElementShape shape;
  shape.data = !element.data_hash.empty();
  shape.plain = element.phone_number.has_value() || element.email.has_value();
  shape.front_side = element.front_side.has_value();
  shape.reverse_side = element.reverse_side.has_value();
  shape.selfie = element.selfie.has_value();
  shape.translation_count = element.translation.size();
  shape.file_count = element.files.size();
  try {
    vault::validate_element_shape(element.type, shape);
  } catch (const vault::FormatError& error) {
    throw std::runtime_error(bundle_path + ": " + error.what() +
                             "; the provider attests only what it saw");
  }
}

}  // namespace

int run_attest(const std::vector<std::string>& args) {
  po::options_description options("idvault-verifier attest");
  std::string module;
  std::string decrypt_uri;
  std::string sign_uri;
  std::string level_name = "document";
  int expires_days = 365;
  std::string bundle_path;
  pin::add_module_option(options, module);
  options.add_options()("decrypt-key", po::value(&decrypt_uri)->required(),
                        "URI of the provider's RSA key the share was made for")(
      "sign-key", po::value(&sign_uri)->required(),
      "URI of the provider's EC P-256 attestation key");
  pin::add_pin_file_option(options);
  options.add_options()("nonce", po::value<std::string>(), "the nonce the share must carry")(
      "level", po::value(&level_name), "basic, document or biometric")(
      "expires-days", po::value(&expires_days), "days until the attestations expire (1..3650)")(
      "json", "print JSON (what attest prints already)")(
      "bundle", po::value(&bundle_path)->required(),
      "the share bundle the holder sent the provider");
  po::positional_options_description positional;
  positional.add("bundle", 1);
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-verifier attest --module SO --decrypt-key URI --sign-key URI "
      "[--pin-file F] [--nonce N] [--level basic|document|biometric] "
      "[--expires-days N] [--json] BUNDLE",
      &positional);
  if (!vm) return 0;
  const auto level = vault::parse_attestation_level(level_name);
  if (!level) throw cli::UsageError("--level must be basic, document or biometric");
  if (expires_days < 1 || expires_days > 3650)
    throw cli::UsageError("--expires-days must be between 1 and 3650");

  const SecretBytes token_pin = pin::read_token_pin(*vm);
  rp::ServiceToken decrypt_token = rp::ServiceToken::open(module, decrypt_uri, token_pin);
  rp::ServiceToken sign_token = rp::ServiceToken::open(module, sign_uri, token_pin);
  const vault::TokenServiceKey decrypt_key = decrypt_token.service_key(decrypt_uri);
  const vault::TokenSigningKey sign_key = sign_token.signing_key(sign_uri);

  rp::IntakeOptions intake_options;
  if (vm->count("nonce")) intake_options.expected_nonce = (*vm)["nonce"].as<std::string>();
  intake_options.file_digests = false;
  intake_options.now = rp::unix_now();
  const std::string text = rp::read_text_file(bundle_path);
  rp::ShareReader reader;
  const rp::ReceivedShare& share = reader.read(text, std::nullopt);
  if (!share.receipt) {
    throw std::runtime_error(bundle_path +
                             ": a bare PassportData has no holder key to attest to; send a bundle");
  }
  rp::ShareIntake intake(decrypt_key);
  (void)intake.accept(share, intake_options);

  // The account when the share proves its device is one of a cloud account's (the
  // attestation then holds on every device of it), else the receipt's key.
  const std::string holder_key = intake.last_holder();
  nlohmann::ordered_json attestations = nlohmann::ordered_json::array();
  for (const vault::DecryptedElement& element : intake.last().elements) {
    refuse_unseen_parts(element, bundle_path);
    vault::AttestationClaims claims = vault::element_binding(element);
    claims.holder_key_sha256 = holder_key;
    claims.level = *level;
    claims.issued_at = intake_options.now;
    claims.expires_at = intake_options.now + static_cast<std::int64_t>(expires_days) * 86400;
    attestations.push_back(vault::to_json(vault::sign_attestation(std::move(claims), sign_key)));
  }
  intake.wipe();
  std::cout << attestations.dump() << "\n";
  return 0;
}

}  // namespace idvault::verifier
