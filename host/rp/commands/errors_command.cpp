// idvault-rp errors: tell a holder what to fix in a share, signed with the service key.
#include <iostream>

#include "common/cli/command_line.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "host/rp/service/service_token.h"
#include "host/rp/share/error_spec.h"
#include "host/rp/share/received_share.h"
#include "host/rp/share/share_intake.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::rp {

namespace po = boost::program_options;

int run_errors(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp errors");
  std::string module;
  std::string key_uri;
  std::string input;
  pin::add_module_option(options, module);
  options.add_options()("key", po::value(&key_uri)->required(),
                        "URI of the service key (decrypts the share, signs the errors)");
  pin::add_pin_file_option(options);
  options.add_options()("nonce", po::value<std::string>(), "the nonce the share must carry")(
      "files-dir", po::value<std::string>(), "encrypted files by file_id, for a bare PassportData")(
      "json", "print JSON (what errors prints already)")(
      "error", po::value<std::vector<std::string>>()->required(),
      "SOURCE:TYPE[:FIELD|INDEX]=MESSAGE (repeatable), SOURCE one of data, front_side, "
      "reverse_side, "
      "selfie, file, files, translation_file, translation_files, unspecified")(
      "input", po::value(&input)->required(), "the received bundle or PassportData");
  po::positional_options_description positional;
  positional.add("input", 1);
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-rp errors --module SO --key URI [--pin-file F] [--nonce N] "
      "--error SOURCE:TYPE[:FIELD|INDEX]=MESSAGE... [--json] INPUT",
      &positional);
  if (!vm) return 0;

  IntakeOptions intake_options;
  if (vm->count("nonce")) intake_options.expected_nonce = (*vm)["nonce"].as<std::string>();
  intake_options.file_digests = false;
  intake_options.now = unix_now();
  std::optional<std::filesystem::path> files_dir;
  if (vm->count("files-dir")) files_dir = (*vm)["files-dir"].as<std::string>();

  ServiceToken service = ServiceToken::open(module, key_uri, pin::read_token_pin(*vm));
  const vault::TokenServiceKey key = service.service_key(key_uri);
  const TokenErrorSigningKey signer(service, key_uri);

  const std::string text = read_text_file(input);
  ShareReader reader;
  const ReceivedShare& share = reader.read(text, files_dir);
  ShareIntake intake(key);
  (void)intake.accept(share, intake_options);

  vault::ElementErrorNotice notice;
  notice.nonce = intake.last().nonce;
  notice.credentials_hash = share.passport_data.credentials.hash;
  notice.time = unix_now();
  for (const auto& spec : (*vm)["error"].as<std::vector<std::string>>()) {
    notice.errors.push_back(error_from_spec(spec, intake.last(), share.passport_data));
  }
  intake.wipe();
  std::cout << vault::to_json(vault::sign_element_errors(std::move(notice), signer)).dump() << "\n";
  return 0;
}

}  // namespace idvault::rp
