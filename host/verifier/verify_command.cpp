// idvault-verifier verify: check attestations on their own — signature, expiry and,
// with --trust, who signed. Whether an element is still unchanged needs the share it is
// used with: idvault-rp decrypt --trust-verifier checks that.
#include <iostream>

#include "common/cli/command_line.h"
#include "common/json_fields.h"
#include "host/rp/commands/command_support.h"
#include "host/verifier/verifier_commands.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"

namespace idvault::verifier {

namespace po = boost::program_options;

int run_verify(const std::vector<std::string>& args) {
  po::options_description options("idvault-verifier verify");
  std::string path;
  options.add_options()("trust", po::value<std::vector<std::string>>(),
                        "a trusted provider's public key PEM (repeatable)")(
      "json", "print JSON lines (what verify prints already)")(
      "attestation", po::value(&path)->required(), "attestation JSON: one object or an array");
  po::positional_options_description positional;
  positional.add("attestation", 1);
  auto vm = cli::parse_command_line(
      args, options, "usage: idvault-verifier verify [--trust PEM]... [--json] ATTESTATION",
      &positional);
  if (!vm) return 0;
  std::vector<vault::Bytes> trusted;
  if (vm->count("trust")) {
    for (const auto& pem : (*vm)["trust"].as<std::vector<std::string>>()) {
      trusted.push_back(vault::verifier_key_from_pem(rp::read_text_file(pem), pem));
    }
  }
  const auto json = json_fields::parse(rp::read_text_file(path), path);
  const nlohmann::json list = json.is_array() ? json : nlohmann::json::array({json});
  const std::int64_t now = rp::unix_now();
  int status = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    nlohmann::ordered_json line;
    std::string reason;
    try {
      const vault::Attestation attestation = vault::attestation_from_json(list[i]);
      const auto& claims = attestation.claims;
      line["element_type"] = std::string(vault::to_string(claims.element_type));
      line["verifier"] = vault::key_fingerprint(attestation.verifier_key_spki_der);
      line["level"] = std::string(vault::to_string(claims.level));
      line["holder_key"] = claims.holder_key_sha256;
      line["expires_at"] = claims.expires_at;
      if (!vault::verify_attestation_signature(attestation)) {
        reason = "signature does not verify";
      } else if (!trusted.empty() &&
                 std::find(trusted.begin(), trusted.end(), attestation.verifier_key_spki_der) ==
                     trusted.end()) {
        reason = "signed by a key that is not trusted";
      } else if (now >= claims.expires_at) {
        reason = "expired";
      }
    } catch (const vault::FormatError& e) {
      reason = std::string("unreadable: ") + e.what();
    }
    line["valid"] = reason.empty();
    if (!reason.empty()) {
      line["reason"] = reason;
      std::cerr << "idvault-verifier verify: " << path << "[" << i << "]: " << reason << "\n";
      status = 1;
    }
    std::cout << line.dump() << "\n";
  }
  return status;
}

}  // namespace idvault::verifier
