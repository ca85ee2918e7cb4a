// demo_holder DIR: the holder (and a verification provider) for the demo page test, as a
// line-driven process so a browser-driving script can play the service side:
//   on start   stores personal details, a passport with front side and selfie (SVG
//              scans a browser can show) and an e-mail address; shares them with an
//              in-process verification provider, which attests each element; writes the
//              provider's public key to DIR/verifier.pem and prints "ready"
//   reads LINK prints the path of the bundle answering it (DIR/bundle-N.json)
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base64.h"
#include "tests/host/rp/service_side_fixture.h"
#include "vault/keys/software_keys.h"
#include "vault/model/auth_link.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"
#include "vault/wire/passport_decryptor.h"

using namespace idvault;
namespace fs = std::filesystem;

namespace {

std::string scan_svg(const std::string& title, const std::string& colour) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"210\" viewBox=\"0 0 320 "
         "210\">"
         "<rect width=\"320\" height=\"210\" rx=\"12\" fill=\"" +
         colour +
         "\"/>"
         "<rect x=\"20\" y=\"50\" width=\"80\" height=\"100\" fill=\"#fff\" opacity=\".7\"/>"
         "<text x=\"120\" y=\"40\" font-family=\"sans-serif\" font-size=\"22\" fill=\"#fff\">" +
         title +
         "</text>"
         "<text x=\"120\" y=\"90\" font-family=\"monospace\" font-size=\"14\" "
         "fill=\"#fff\">LOVELACE / ADA</text>"
         "<text x=\"120\" y=\"120\" font-family=\"monospace\" font-size=\"14\" "
         "fill=\"#fff\">10.12.1815  GB</text></svg>";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: demo_holder DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  try {
    idvault::testing::TestHolder holder(dir);
    vault::PlainElement personal;
    personal.type = vault::ElementType::personal_details;
    personal.data = {{"first_name", "Ada"},        {"last_name", "Lovelace"},
                     {"birth_date", "10.12.1815"}, {"gender", "female"},
                     {"country_code", "GB"},       {"residence_country_code", "GB"}};
    holder.put(personal);
    vault::PlainElement passport;
    passport.type = vault::ElementType::passport;
    passport.data = {{"document_no", "925076473"}, {"expiry_date", "01.01.2034"}};
    passport.front_side = SecretBytes::from_string(scan_svg("PASSPORT", "#7a1f3d"));
    passport.selfie = SecretBytes::from_string(scan_svg("SELFIE", "#1f4e7a"));
    holder.put(passport);
    vault::PlainElement email;
    email.type = vault::ElementType::email;
    email.value = "ada@example.org";
    holder.put(email);

    // The verification provider, in-process: receives a share like any service and signs.
    const auto inbox = vault::SoftwareServiceKey::generate(2048);
    const auto attest_key = vault::SoftwareSigningKey::generate();
    vault::AuthorizationRequest request;
    request.service_id = "kyc-provider";
    request.scope_text =
        R"({"data":[{"type":"personal_details"},{"type":"passport","selfie":true},{"type":"email"}],"v":1})";
    request.scope = vault::parse_scope(request.scope_text);
    request.public_key_pem = inbox.public_key_pem();
    request.nonce = "kyc";
    const vault::ShareBundle to_provider = holder.vault().share(
        request, holder.vault().plan_share(request), holder.identity(), ::time(nullptr));
    std::map<std::string, std::vector<std::uint8_t>> files;
    for (const auto& [id, text] : to_provider.files) files[id] = base64_decode(text, id);
    vault::PassportDecryptor decryptor(inbox);
    const auto checked =
        decryptor.decrypt(to_provider.passport_data,
                          [&](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
                            auto it = files.find(std::string(id));
                            if (it == files.end()) return std::nullopt;
                            return std::span<const std::uint8_t>(it->second);
                          },
                          {});
    for (const auto& element : checked.elements) {
      vault::AttestationClaims claims = vault::element_binding(element);
      claims.holder_key_sha256 = vault::key_fingerprint(to_provider.receipt.public_key_spki_der);
      claims.level = vault::AttestationLevel::document;
      claims.issued_at = ::time(nullptr);
      claims.expires_at = claims.issued_at + 86400;
      holder.store().add_attestation(
          element.type, vault::to_json(vault::sign_attestation(claims, attest_key)).dump());
    }
    idvault::testing::write_file(dir / "verifier.pem",
                                 idvault::testing::spki_pem_of(attest_key.public_key_spki_der()));
    std::cout << "ready" << std::endl;

    int count = 0;
    for (std::string link; std::getline(std::cin, link);) {
      const fs::path out = dir / ("bundle-" + std::to_string(++count) + ".json");
      idvault::testing::write_file(out, holder.share(link));
      std::cout << out.string() << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "demo_holder: " << e.what() << "\n";
    return 1;
  }
}
