// idvault-rp request: the link a holder opens to share data with the service.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli/command_line.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "vault/model/auth_link.h"

namespace idvault::rp {

namespace po = boost::program_options;

namespace {

// The public half needs no login: public key objects are not private.
std::string public_key_from_token(const std::string& module, const std::string& key_uri) {
  auto token = p11::open_token(key_uri, module);
  const p11::Object key = p11::find_object(token, p11::Uri::parse(key_uri), CKO_PUBLIC_KEY);
  return p11::spki_pem(*p11::public_key_of(key));
}

}  // namespace

int run_request(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp request");
  std::string scope_text;
  std::string nonce;
  std::string service_id = "idvault-rp";
  std::string format = "idvault";
  options.add_options()("key", po::value<std::string>(),
                        "URI of the service key on the token (with --module)")(
      "module", po::value<std::string>(), "PKCS#11 module (.so)")(
      "public-key", po::value<std::string>(),
      "the service's public key PEM file (instead of --key)")(
      "scope", po::value(&scope_text)->required(),
      "PassportScope JSON or a comma list of element types")(
      "nonce", po::value(&nonce)->required(),
      "the request's nonce (single use; check it on receipt)")(
      "service-id", po::value(&service_id), "service id (tg links: the bot's numeric id)")(
      "callback", po::value<std::string>(), "URL the holder's app delivers the bundle to")(
      "format", po::value(&format), "idvault (idvault://authorize) or tg (tg://resolve)")(
      "json", "print {link, service_id, nonce, format, callback_url} instead of the link alone");
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-rp request (--key URI --module SO | --public-key PEM) --scope S "
      "--nonce N [--service-id ID] [--callback URL] [--format idvault|tg] [--json]");
  if (!vm) return 0;
  if ((vm->count("key") != 0) == (vm->count("public-key") != 0)) {
    throw cli::UsageError("give either --key URI (with --module) or --public-key PEM");
  }
  if (format != "idvault" && format != "tg")
    throw cli::UsageError("--format must be idvault or tg");

  vault::AuthorizationRequest request;
  if (vm->count("key") != 0) {
    if (vm->count("module") == 0) throw cli::UsageError("--key needs --module");
    request.public_key_pem =
        public_key_from_token((*vm)["module"].as<std::string>(), (*vm)["key"].as<std::string>());
  } else {
    request.public_key_pem = read_text_file((*vm)["public-key"].as<std::string>());
  }
  request.service_id = service_id;
  request.scope_text = scope_text;
  request.scope = vault::parse_scope(scope_text);
  request.nonce = nonce;
  if (vm->count("callback") != 0) request.callback_url = (*vm)["callback"].as<std::string>();
  const std::string link = vault::build_authorization_link(
      request, format == "tg" ? vault::LinkFormat::tg : vault::LinkFormat::idvault);
  if (vm->count("json")) {
    nlohmann::ordered_json json = {
        {"link", link}, {"service_id", service_id}, {"nonce", nonce}, {"format", format}};
    if (request.callback_url) json["callback_url"] = *request.callback_url;
    std::cout << json.dump(2) << "\n";
  } else {
    std::cout << link << "\n";
  }
  return 0;
}

}  // namespace idvault::rp
