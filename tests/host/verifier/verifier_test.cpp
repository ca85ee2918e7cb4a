// A verification provider's attestations, end to end as processes on SoftHSM2: the
// holder shares with the provider, the provider attests on its token, the holder keeps
// the attestations and later shares carry them; idvault-rp decrypt --trust-verifier says
// which still hold.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <tuple>

#include "tests/host/rp/service_side_fixture.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/share_receipt.h"
#include "vault/signed/signed_statement.h"

using namespace idvault;
using namespace idvault::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class VerifierTest : public ServiceSideTest {
 protected:
  void SetUp() override {
    ServiceSideTest::SetUp();
    holder_ = std::make_unique<TestHolder>(dir_.path());
    holder_->put_everything();
    attest_key_ = make_verifier_key("attest");
    // The provider receives shares like any service: an RSA key of its own.
    ProcessResult keygen = rp({"keygen", "--module", module_, "--token", "pkcs11:token=verifier",
                               "--label", "inbox", "--pin-file", pin_file_.string()});
    if (keygen.status != 0) throw std::runtime_error(keygen.err);
    inbox_key_ = "pkcs11:token=verifier;object=inbox";
    service_key_ = make_service_key("rp");
  }

  // The holder shares the scope with the provider, which attests every element.
  json attest(const std::string& scope, const std::vector<std::string>& extra = {}) {
    ProcessResult result = attest_bundle(share_with_provider(scope), extra);
    if (result.status != 0) throw std::runtime_error("attest failed: " + result.err);
    return json::parse(result.out);
  }

  json share_with_provider(const std::string& scope) {
    return json::parse(holder_->share(request_link(inbox_key_, scope, "kyc-1")));
  }

  // idvault-verifier attest on a bundle as given (perhaps altered on the way).
  ProcessResult attest_bundle(const json& bundle, const std::vector<std::string>& extra = {}) {
    const fs::path path = write("to-provider.json", bundle.dump());
    std::vector<std::string> args = {"attest",           "--module",   module_,     "--decrypt-key",
                                     inbox_key_,         "--sign-key", attest_key_, "--pin-file",
                                     pin_file_.string(), "--nonce",    "kyc-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(path.string());
    return verifier(args);
  }

  // What `idvault attestation add` does: keep each attestation beside its element.
  void holder_keeps(const json& attestations) {
    for (const json& item : attestations) {
      holder_->store().add_attestation(
          *vault::parse_element_type(item["element_type"].get<std::string>()), item.dump());
    }
  }

  // The holder shares with the service; the service decrypts trusting the given PEMs.
  // alter: what happens to the bundle on the way (files dropped, attestations added).
  json service_sees(const std::string& scope, const std::vector<fs::path>& trusted,
                    const std::function<void(json&)>& alter = {}) {
    json shared = json::parse(holder_->share(request_link(service_key_, scope, "svc-1")));
    if (alter) alter(shared);
    const fs::path bundle = write("to-service.json", shared.dump());
    std::vector<std::string> args = decrypt_args(service_key_);
    for (const auto& pem : trusted) args.insert(args.end(), {"--trust-verifier", pem.string()});
    args.push_back(bundle.string());
    ProcessResult result = rp(args);
    if (result.status != 0) throw std::runtime_error("decrypt failed: " + result.err);
    return json::parse(result.out_lines().at(0));
  }

  std::map<std::string, json> by_type(const json& report) {
    std::map<std::string, json> out;
    for (const json& item : report["attestations"]) out[item["type"].get<std::string>()] = item;
    return out;
  }

  std::unique_ptr<TestHolder> holder_;
  std::string attest_key_;
  std::string inbox_key_;
  std::string service_key_;
};

const std::string kScope = "personal_details,passport,utility_bill,email";

}  // namespace

TEST_F(VerifierTest, AttestSignsOneAttestationPerElementBoundToTheHolderAndHashes) {
  const json attestations = attest(kScope, {"--level", "biometric", "--expires-days", "30"});
  ASSERT_EQ(attestations.size(), 4u);
  const std::string holder_key = vault::key_fingerprint(holder_->identity().public_key_spki_der());
  for (const json& item : attestations) {
    const vault::Attestation attestation = vault::attestation_from_json(item);
    EXPECT_TRUE(vault::verify_attestation_signature(attestation));
    EXPECT_EQ(attestation.claims.holder_key_sha256, holder_key);
    EXPECT_EQ(attestation.claims.level, vault::AttestationLevel::biometric);
    EXPECT_NEAR(static_cast<double>(attestation.claims.expires_at - attestation.claims.issued_at),
                30.0 * 86400, 1);
    EXPECT_EQ(attestation.verifier_key_spki_der.size() > 0, true);
    switch (attestation.claims.element_type) {
      case vault::ElementType::passport:
        EXPECT_FALSE(attestation.claims.data_hash.empty());
        // The scope asked for no selfie or translation, so the holder sent only the front side.
        EXPECT_EQ(attestation.claims.file_hashes.size(), 1u);
        EXPECT_EQ(attestation.claims.file_hashes.count("front_side"), 1u);
        break;
      case vault::ElementType::utility_bill:
        EXPECT_TRUE(attestation.claims.data_hash.empty());
        EXPECT_EQ(attestation.claims.file_hashes.count("files[1]"), 1u);
        break;
      case vault::ElementType::email:
        EXPECT_EQ(attestation.claims.value_sha256.size(), 64u);
        break;
      default:
        EXPECT_FALSE(attestation.claims.data_hash.empty());
    }
  }
  const fs::path file = write("attestations.json", attestations.dump());
  ProcessResult ok = verifier({"verify", "--trust", (dir_ / "attest.pem").string(), file.string()});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out_lines().size(), 4u);
  for (const auto& line : ok.out_lines()) EXPECT_EQ(json::parse(line)["valid"], true);
}

TEST_F(VerifierTest, VerifyRefusesForgedUntrustedAndUnreadableAttestations) {
  json attestations = attest("passport");
  json forged = attestations[0];
  forged["signed"]["level"] = "biometric";  // was document
  const auto other = vault::SoftwareSigningKey::generate();
  const fs::path other_pem = write("other.pem", spki_pem_of(other.public_key_spki_der()));
  const fs::path file = write("forged.json", json::array({forged, {{"alg", "none"}}}).dump());
  ProcessResult result =
      verifier({"verify", "--trust", (dir_ / "attest.pem").string(), file.string()});
  EXPECT_EQ(result.status, 1);
  ASSERT_EQ(result.out_lines().size(), 2u);
  EXPECT_EQ(json::parse(result.out_lines()[0])["reason"], "signature does not verify");
  EXPECT_NE(json::parse(result.out_lines()[1])["reason"].get<std::string>().find("unreadable"),
            std::string::npos);
  EXPECT_EQ(result.err_lines().size(), 2u);
  const fs::path genuine = write("genuine.json", attestations.dump());
  ProcessResult untrusted = verifier({"verify", "--trust", other_pem.string(), genuine.string()});
  EXPECT_EQ(untrusted.status, 1);
  EXPECT_EQ(json::parse(untrusted.out_lines()[0])["reason"], "signed by a key that is not trusted");
}

TEST_F(VerifierTest, SharesCarryAttestationsThatHoldOnlyWhileTrustedUnexpiredAndUnchanged) {
  const json attestations = attest(kScope);
  holder_keeps(attestations);
  const fs::path trusted = dir_ / "attest.pem";

  // Trusted, fresh, unchanged: every one valid.
  auto seen = by_type(service_sees(kScope, {trusted}));
  ASSERT_EQ(seen.size(), 4u);
  for (const auto& [type, item] : seen) {
    EXPECT_EQ(item["valid"], true) << type << ": " << item.dump();
    EXPECT_EQ(item["verifier"],
              vault::key_fingerprint(vault::verifier_key_from_pem(read_file(trusted), "pem")));
    EXPECT_EQ(item["level"], "document");
  }

  // Not trusted by this service: none valid.
  for (const auto& [type, item] : by_type(service_sees(kScope, {}))) {
    EXPECT_EQ(item["valid"], false);
    EXPECT_EQ(item["reason"], "signed by a key that is not trusted");
  }

  // The holder changes the passport (same data, re-put): its attestation is no longer
  // shipped, and one that still arrives (kept by whoever saw an earlier share) no longer holds.
  json old_passport;
  for (const json& item : attestations) {
    if (item["element_type"] == "passport") old_passport = item;
  }
  auto passport = holder_->vault().get(vault::ElementType::passport);
  ASSERT_TRUE(passport.has_value());
  holder_->vault().put(*passport);
  seen = by_type(service_sees(kScope, {trusted}));
  EXPECT_EQ(seen.count("passport"), 0u);
  EXPECT_EQ(seen["personal_details"]["valid"], true);
  EXPECT_EQ(seen["email"]["valid"], true);
  seen = by_type(service_sees(
      kScope, {trusted}, [&](json& bundle) { bundle["attestations"].push_back(old_passport); }));
  EXPECT_EQ(seen["passport"]["valid"], false);
  EXPECT_EQ(seen["passport"]["reason"], "element changed since it was attested (data)");
}

TEST_F(VerifierTest, ExpiredForeignHolderAndForgedAttestationsAreReportedWithTheirReason) {
  const json genuine = attest("personal_details");
  ASSERT_EQ(genuine.size(), 1u);
  // A second provider whose key the service also trusts, re-signing the same binding.
  const auto provider = vault::SoftwareSigningKey::generate();
  const fs::path provider_pem = write("provider.pem", spki_pem_of(provider.public_key_spki_der()));
  const vault::AttestationClaims binding = vault::attestation_from_json(genuine[0]).claims;
  const std::int64_t now = ::time(nullptr);

  vault::AttestationClaims expired = binding;
  expired.issued_at = now - 40 * 86400;
  expired.expires_at = now - 86400;
  vault::AttestationClaims foreign = binding;
  foreign.holder_key_sha256 =
      vault::key_fingerprint(vault::SoftwareSigningKey::generate().public_key_spki_der());
  json forged = vault::to_json(vault::sign_attestation(binding, provider));
  forged["signed"]["expires_at"] = now + 100LL * 365 * 86400;  // stretched after signing
  const json expired_json = vault::to_json(vault::sign_attestation(expired, provider));
  holder_keeps(
      json::array({expired_json, vault::to_json(vault::sign_attestation(foreign, provider)), forged,
                   genuine[0]}));

  // The holder does not ship the expired one; a service that is sent one anyway says so.
  const json shipped =
      json::parse(holder_->share(request_link(service_key_, "personal_details", "svc-0")));
  EXPECT_EQ(shipped["attestations"].size(), 3u);
  const json report =
      service_sees("personal_details", {provider_pem, dir_ / "attest.pem"}, [&](json& bundle) {
        bundle["attestations"].insert(bundle["attestations"].begin(), expired_json);
      });
  ASSERT_EQ(report["attestations"].size(), 4u);
  EXPECT_EQ(report["attestations"][0]["reason"], "expired");
  EXPECT_EQ(report["attestations"][1]["reason"], "issued to another holder");
  EXPECT_EQ(report["attestations"][2]["reason"], "signature does not verify");
  EXPECT_EQ(report["attestations"][3]["valid"], true);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(report["attestations"][i]["valid"], false);
}

TEST_F(VerifierTest, AttestRefusesBadArgumentsAndBarePassportData) {
  const fs::path bundle = write("b.json", holder_->share(request_link(inbox_key_, "email", "n")));
  ProcessResult level = verifier({"attest", "--module", module_, "--decrypt-key", inbox_key_,
                                  "--sign-key", attest_key_, "--pin-file", pin_file_.string(),
                                  "--level", "superb", bundle.string()});
  EXPECT_EQ(level.status, 2);
  EXPECT_NE(level.err.find("--level"), std::string::npos);
  const fs::path bare = write("bare.json", json::parse(read_file(bundle))["passport_data"].dump());
  ProcessResult no_receipt =
      verifier({"attest", "--module", module_, "--decrypt-key", inbox_key_, "--sign-key",
                attest_key_, "--pin-file", pin_file_.string(), bare.string()});
  EXPECT_EQ(no_receipt.status, 1);
  EXPECT_NE(no_receipt.err.find("no holder key"), std::string::npos) << no_receipt.err;
  ProcessResult wrong_nonce = verifier({"attest", "--module", module_, "--decrypt-key", inbox_key_,
                                        "--sign-key", attest_key_, "--pin-file", pin_file_.string(),
                                        "--nonce", "other", bundle.string()});
  EXPECT_EQ(wrong_nonce.status, 1);
  EXPECT_NE(wrong_nonce.err.find("nonce"), std::string::npos);
}

// Every idvault-rp and idvault-verifier command that prints something a program may read
// takes --json (design.md), with the shape docs/SERVICE.md gives; those that print JSON
// already take it too and print the same.
TEST_F(VerifierTest, EveryCommandThatPrintsTakesJson) {
  for (const auto& [tool, token, algorithm] :
       {std::tuple{std::string("rp"), std::string("service"), std::string("RSA-2048")},
        std::tuple{std::string("verifier"), std::string("verifier"), std::string("EC P-256")}}) {
    const std::vector<std::string> args = {
        "keygen",  "--module",     module_,      "--token",          "pkcs11:token=" + token,
        "--label", tool + "-json", "--pin-file", pin_file_.string(), "--json"};
    ProcessResult keygen = tool == "rp" ? rp(args) : verifier(args);
    ASSERT_EQ(keygen.status, 0) << keygen.err;
    const json made = json::parse(keygen.out);
    EXPECT_NE(made["key_uri"].get<std::string>().find("object=" + tool + "-json"),
              std::string::npos)
        << made;
    EXPECT_EQ(made["algorithm"], algorithm);
    EXPECT_EQ(made["public_key_pem"].get<std::string>().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
    EXPECT_EQ(made["public_key_sha256"].get<std::string>().size(), 64u);
  }

  ProcessResult request = rp({"request", "--module", module_, "--key", service_key_, "--scope",
                              "personal_details", "--nonce", "n-json", "--service-id", "svc",
                              "--callback", "https://svc.example/cb", "--json"});
  ASSERT_EQ(request.status, 0) << request.err;
  const json asked = json::parse(request.out);
  EXPECT_EQ(asked["link"].get<std::string>().rfind("idvault://authorize?", 0), 0u) << asked;
  EXPECT_EQ(asked["service_id"], "svc");
  EXPECT_EQ(asked["nonce"], "n-json");
  EXPECT_EQ(asked["format"], "idvault");
  EXPECT_EQ(asked["callback_url"], "https://svc.example/cb");

  const fs::path bundle = write("json.json", holder_->share(asked["link"].get<std::string>()));
  std::vector<std::string> decrypt = decrypt_args(service_key_);
  decrypt.insert(decrypt.end(), {"--json", bundle.string()});
  ProcessResult decrypted = rp(decrypt);
  ASSERT_EQ(decrypted.status, 0) << decrypted.err;
  EXPECT_EQ(json::parse(decrypted.out_lines().at(0))["nonce"], "n-json");

  ProcessResult errors =
      rp({"errors", "--module", module_, "--key", service_key_, "--pin-file", pin_file_.string(),
          "--error", "data:personal_details:first_name=Unreadable", "--json", bundle.string()});
  ASSERT_EQ(errors.status, 0) << errors.err;
  EXPECT_TRUE(json::parse(errors.out).contains("signature"));

  const json attestations = attest("personal_details", {"--json"});
  ASSERT_TRUE(attestations.is_array());
  const fs::path file = write("attestations.json", attestations.dump());
  ProcessResult verified = verifier({"verify", "--json", file.string()});
  ASSERT_EQ(verified.status, 0) << verified.err;
  EXPECT_EQ(json::parse(verified.out_lines().at(0))["valid"], true);
}

TEST_F(VerifierTest, AttestRefusesABundleMissingFilesItWouldVouchFor) {
  // The holder sent the utility bill's credentials but none of its pages.
  json no_files =
      share_with_provider(R"({"data":[{"type":"utility_bill","translation":true}],"v":1})");
  json translation_ids = json::array();
  for (const json& file : no_files["passport_data"]["data"][0]["translation"])
    translation_ids.push_back(file["file_id"]);
  ASSERT_EQ(translation_ids.size(), 1u);
  json no_translation = no_files;
  no_files["files"] = json::object();
  ProcessResult pages = attest_bundle(no_files);
  EXPECT_EQ(pages.status, 1);
  EXPECT_NE(pages.err.find("utility_bill.files[0] is missing from the bundle"), std::string::npos)
      << pages.err;
  EXPECT_TRUE(pages.out.empty());

  // Only the translation is left out.
  no_translation["files"].erase(translation_ids[0].get<std::string>());
  ProcessResult translation = attest_bundle(no_translation);
  EXPECT_EQ(translation.status, 1);
  EXPECT_NE(translation.err.find("utility_bill.translation[0] is missing from the bundle"),
            std::string::npos)
      << translation.err;
  EXPECT_TRUE(translation.out.empty());

  // Credentials that name no page at all: nothing the provider could have checked.
  json no_pages = share_with_provider("utility_bill");
  no_pages["passport_data"]["data"][0].erase("files");
  ProcessResult empty = attest_bundle(no_pages);
  EXPECT_NE(empty.status, 0);
  EXPECT_TRUE(empty.out.empty());
}

TEST_F(VerifierTest, AServiceCountsNoMissingFileAndNoAttestationWithoutHashes) {
  holder_keeps(attest("utility_bill"));
  const fs::path trusted = dir_ / "attest.pem";
  EXPECT_EQ(by_type(service_sees("utility_bill", {trusted}))["utility_bill"]["valid"], true);

  // The pages did not arrive: the service cannot tell they are the ones the provider saw.
  const json stripped = service_sees("utility_bill", {trusted},
                                     [](json& bundle) { bundle["files"] = json::object(); });
  ASSERT_EQ(stripped["attestations"].size(), 1u);
  EXPECT_EQ(stripped["attestations"][0]["valid"], false);
  EXPECT_EQ(stripped["attestations"][0]["reason"],
            "a file of the share did not arrive (files[0]): a missing file is not attested");

  // Signed by a trusted provider for this holder, but binding no hash: it would hold for
  // any utility bill. Neither the provider's library nor a service takes it.
  const auto provider = vault::SoftwareSigningKey::generate();
  const fs::path provider_pem = write("provider.pem", spki_pem_of(provider.public_key_spki_der()));
  vault::AttestationClaims bare;
  bare.element_type = vault::ElementType::utility_bill;
  bare.holder_key_sha256 = vault::key_fingerprint(holder_->identity().public_key_spki_der());
  bare.level = vault::AttestationLevel::document;
  bare.issued_at = ::time(nullptr) - 60;
  bare.expires_at = bare.issued_at + 86400;
  EXPECT_THROW((void)vault::sign_attestation(bare, provider), vault::FormatError);
  vault::Attestation hashless;
  hashless.claims = bare;
  hashless.verifier_key_spki_der = provider.public_key_spki_der();
  hashless.signature =
      provider.sign_es256(vault::bytes_of(vault::canonical_attestation_bytes(bare)));
  ASSERT_TRUE(vault::verify_attestation_signature(hashless));
  const json hashless_json = vault::to_json(hashless);
  for (const bool with_files : {true, false}) {
    const json report = service_sees("utility_bill", {provider_pem}, [&](json& bundle) {
      bundle["attestations"] = json::array({hashless_json});
      if (!with_files) bundle["files"] = json::object();
    });
    ASSERT_EQ(report["attestations"].size(), 1u);
    EXPECT_EQ(report["attestations"][0]["valid"], false) << with_files;
    EXPECT_EQ(report["attestations"][0]["reason"],
              "unreadable: attestation.signed: binds no data, value or file hash");
  }
}

TEST_F(VerifierTest, SharesCarryNoAttestationOfAReplacedOrExpiredVersion) {
  const json phone = attest("phone_number", {"--expires-days", "2"});
  ASSERT_EQ(phone.size(), 1u);
  const std::string old_digest = vault::sha256_hex(vault::bytes_of("447700900123"));
  ASSERT_EQ(phone[0]["signed"]["value_sha256"], old_digest);
  holder_keeps(phone);
  const std::string link = request_link(service_key_, "phone_number", "svc-2");
  EXPECT_EQ(holder_->share_bundle(link).attestations.size(), 1u);
  // Unexpired today, expired in three days: not shipped then.
  EXPECT_TRUE(holder_->share_bundle(link, ::time(nullptr) + 3 * 86400).attestations.empty());

  // A new number: the old number's attestation goes with the old number...
  vault::PlainElement changed;
  changed.type = vault::ElementType::phone_number;
  changed.value = "+447700900999";
  holder_->put(changed);
  EXPECT_TRUE(holder_->store().attestations().empty());
  // ...and even kept again (added after the change), it is never shipped: the old
  // number's digest would give the old number away in a thousand guesses.
  holder_keeps(phone);
  const std::string shared = holder_->share(link);
  EXPECT_EQ(shared.find(old_digest), std::string::npos);
  EXPECT_TRUE(json::parse(shared)["attestations"].empty());
}
