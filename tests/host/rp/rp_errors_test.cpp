// idvault-rp errors: PassportElementErrors about a received share, signed on the HSM with
// the service key; the holder checks them against its own receipt for that share, keeps
// them beside the elements, and each clears when its element changes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "host/rp/service/service_token.h"
#include "tests/host/rp/service_side_fixture.h"
#include "vault/model/share_error_fit.h"
#include "vault/signed/element_error_signature.h"
#include "vault/signed/share_receipt.h"

using namespace idvault;
using namespace idvault::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpErrorsTest : public ServiceSideTest {
 protected:
  void SetUp() override {
    ServiceSideTest::SetUp();
    key_ = make_service_key();
    holder_ = std::make_unique<TestHolder>(dir_.path());
    holder_->put_everything();
    bundle_ = holder_->share_bundle(request_link(key_, all_types_scope(), "fix-1"));
    bundle_path_ = write("bundle.json", bundle_.to_json().dump());
  }

  ProcessResult errors(const std::vector<std::string>& specs, const std::string& key_uri = {}) {
    std::vector<std::string> args = {
        "errors",     "--module",        module_, "--key", key_uri.empty() ? key_ : key_uri,
        "--pin-file", pin_file_.string()};
    for (const auto& spec : specs) args.insert(args.end(), {"--error", spec});
    args.push_back(bundle_path_.string());
    return rp(args);
  }

  // What the holder's side does with a signed error list: find its own receipt for the
  // nonce, accept the list only under the key that receipt names, and each error only
  // for an element of that share named by its own hashes.
  bool holder_accepts(const vault::SignedElementErrors& received) {
    for (const auto& stored : holder_->store().receipts()) {
      const auto receipt = vault::receipt_from_json(json::parse(stored.receipt_json));
      if (receipt.fields.nonce == received.notice.nonce &&
          receipt.fields.credentials_hash == received.notice.credentials_hash) {
        if (!vault::verify_element_errors(received, receipt.fields.service_key_sha256))
          return false;
        for (const auto& error : received.notice.errors) {
          const auto element = holder_->store().element(error.type, false);
          if (vault::fit_error_to_share(error, receipt.fields, element, "error") !=
              vault::ErrorFit::current)
            return false;
        }
        return true;
      }
    }
    return false;
  }

  std::string key_;
  std::unique_ptr<TestHolder> holder_;
  vault::ShareBundle bundle_;
  fs::path bundle_path_;
};

}  // namespace

TEST_F(RpErrorsTest, EveryKindIsSignedNamesTheSharedHashesAndTheHolderAcceptsIt) {
  ProcessResult result = errors(
      {"data:passport:document_no=The number is unreadable", "front_side:passport=Blurry scan",
       "reverse_side:driver_license=Cut off", "selfie:identity_card=Face not visible",
       "file:utility_bill:1=Page 2 is blank", "files:bank_statement=Older than 3 months",
       "translation_file:passport:0=Not certified",
       "translation_files:rental_agreement=Missing stamps", "unspecified:address=Please resend"});
  ASSERT_EQ(result.status, 0) << result.err;
  const json signed_json = json::parse(result.out);
  EXPECT_EQ(signed_json["alg"], "PS256");
  const vault::SignedElementErrors received = vault::signed_element_errors_from_json(signed_json);
  EXPECT_EQ(received.notice.nonce, "fix-1");
  EXPECT_EQ(received.notice.credentials_hash, bundle_.passport_data.credentials.hash);
  ASSERT_EQ(received.notice.errors.size(), 9u);
  EXPECT_TRUE(holder_accepts(received));

  // The hashes are the ones the holder's store holds for exactly what was shared.
  const auto stored_passport = holder_->store().element(vault::ElementType::passport, false);
  EXPECT_EQ(received.notice.errors[0].hashes.at(0), stored_passport->data_hash);
  EXPECT_EQ(received.notice.errors[0].field_name, "document_no");
  const auto stored_bill = holder_->store().element(vault::ElementType::utility_bill, false);
  const auto second_file =
      std::find_if(stored_bill->files.begin(), stored_bill->files.end(),
                   [](const vault::StoredFile& f) { return f.slot == "files" && f.position == 1; });
  EXPECT_EQ(received.notice.errors[4].hashes.at(0), second_file->file_hash);
  EXPECT_EQ(received.notice.errors[5].hashes.size(), 2u);
  const auto stored_address = holder_->store().element(vault::ElementType::address, false);
  EXPECT_EQ(received.notice.errors[8].hashes.at(0), stored_address->element_hash);

  // Each error is a Bot API PassportElementError a Telegram-style client reads as is.
  for (const json& error : signed_json["signed"]["errors"])
    EXPECT_NO_THROW((void)vault::parse_element_error(error));
}

TEST_F(RpErrorsTest, ForgedOrAlteredListsAreRefusedByTheHolder) {
  ProcessResult genuine = errors({"data:passport:document_no=Unreadable"});
  ASSERT_EQ(genuine.status, 0) << genuine.err;
  json altered = json::parse(genuine.out);
  altered["signed"]["errors"][0]["message"] = "Send us your PIN";
  EXPECT_FALSE(holder_accepts(vault::signed_element_errors_from_json(altered)));

  // Someone with a key of their own (another key on the same HSM even) signs a list for
  // this share: it verifies under its own key, but not under the key the holder shared with.
  make_service_key("intruder");
  const auto other_decrypt =
      errors({"unspecified:email=x"}, "pkcs11:token=service;object=intruder");
  EXPECT_EQ(other_decrypt.status, 1);  // it cannot even decrypt the share
  EXPECT_NE(other_decrypt.err.find("credentials: decryption failed"), std::string::npos)
      << other_decrypt.err;
  // So it signs the genuine list with its own key on the HSM: valid under that key, but
  // not under the one the holder shared with.
  const rp::ServiceToken token = rp::ServiceToken::open(module_, "pkcs11:token=service",
                                                        SecretBytes::from_string(kDefaultPin));
  const rp::TokenErrorSigningKey intruder(token, "pkcs11:token=service;object=intruder");
  vault::ElementErrorNotice notice =
      vault::signed_element_errors_from_json(json::parse(genuine.out)).notice;
  const vault::SignedElementErrors forged = vault::sign_element_errors(notice, intruder);
  EXPECT_TRUE(
      vault::verify_element_errors(forged, vault::key_fingerprint(intruder.public_key_spki_der())));
  EXPECT_FALSE(holder_accepts(forged));
}

TEST_F(RpErrorsTest, ErrorsClearWhenTheHolderChangesTheElement) {
  ProcessResult result =
      errors({"data:passport:document_no=Unreadable", "unspecified:email=Please confirm"});
  ASSERT_EQ(result.status, 0) << result.err;
  const vault::SignedElementErrors received =
      vault::signed_element_errors_from_json(json::parse(result.out));
  ASSERT_TRUE(holder_accepts(received));
  for (const auto& error : received.notice.errors) {
    holder_->store().add_element_error(error.type, vault::to_json(error).dump());
  }
  const auto errors_of = [&](const std::string& type) {
    for (const auto& summary : holder_->vault().list()) {
      if (vault::to_string(summary.type) == type) return summary.errors.size();
    }
    return std::size_t{0};
  };
  EXPECT_EQ(errors_of("passport"), 1u);
  EXPECT_EQ(errors_of("email"), 1u);
  auto passport = holder_->vault().get(vault::ElementType::passport);
  passport->data["document_no"] = "987654321";
  holder_->vault().put(*passport);
  EXPECT_EQ(errors_of("passport"), 0u);
  EXPECT_EQ(errors_of("email"), 1u);
  // The fixed element goes out with new hashes: the old error no longer names it.
  const auto reshared = holder_->share_bundle(request_link(key_, "passport", "fix-2"));
  const fs::path again = write("again.json", reshared.to_json().dump());
  std::vector<std::string> args = decrypt_args(key_);
  args.push_back(again.string());
  ProcessResult decrypted = rp(args);
  ASSERT_EQ(decrypted.status, 0) << decrypted.err;
  EXPECT_EQ(json::parse(decrypted.out)["elements"][0]["data"]["document_no"], "987654321");
  EXPECT_NE(holder_->store().element(vault::ElementType::passport, false)->data_hash,
            received.notice.errors[0].hashes.at(0));
}

TEST_F(RpErrorsTest, BadSpecsGetOneClearLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nonsense:passport=x", "unknown source 'nonsense'"},
      {"data:passport=x", "needs :FIELD or :INDEX"},
      {"data:passport:shoe_size=x", "field_name"},
      {"file:utility_bill:7=x", "index 7 out of range (2 files)"},
      {"front_side:utility_bill=x", "cannot name utility_bill"},
      {"selfie:passport:0=x", "takes no :FIELD or :INDEX"},
      {"unspecified:passport", "expected SOURCE:TYPE"},
      {"unspecified:passport=", "the message is empty"},
  };
  for (const auto& [spec, why] : cases) {
    ProcessResult result = errors({spec});
    EXPECT_EQ(result.status, 1) << spec;
    ASSERT_EQ(result.err_lines().size(), 1u) << spec << ": " << result.err;
    EXPECT_NE(result.err.find(why), std::string::npos) << spec << ": " << result.err;
    EXPECT_TRUE(result.out.empty()) << spec;
  }
  // An element the share does not hold.
  const auto small = holder_->share_bundle(request_link(key_, "email", "fix-3"));
  bundle_path_ = write("small.json", small.to_json().dump());
  ProcessResult missing = errors({"data:passport:document_no=x"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("the share holds no passport"), std::string::npos) << missing.err;
}

// Older Bot API data has no element hash: a service can still name every data field and
// file of such an element (their hashes come from the credentials), but not the element
// as a whole, and the command says so instead of failing on the whole share.
TEST_F(RpErrorsTest, AnElementWithoutHashCanBeToldAboutItsPartsButNotAsAWhole) {
  nlohmann::ordered_json passport_data = bundle_.to_json()["passport_data"];
  for (auto& element : passport_data["data"]) element.erase("hash");
  const fs::path files_dir = dir_ / "files";
  fs::create_directory(files_dir);
  for (const auto& [id, text] : bundle_.files) {
    const auto bytes = base64_decode(text, "test");
    write_file(files_dir / id, std::string(bytes.begin(), bytes.end()));
  }
  const fs::path input = write("old_passport_data.json", passport_data.dump());
  const auto run = [&](const std::string& spec) {
    return rp({"errors", "--module", module_, "--key", key_, "--pin-file", pin_file_.string(),
               "--files-dir", files_dir.string(), "--error", spec, input.string()});
  };

  for (const std::string spec :
       {"data:passport:document_no=Unreadable", "front_side:passport=Blurry",
        "files:utility_bill=Too old", "translation_file:passport:0=Not certified"}) {
    ProcessResult result = run(spec);
    ASSERT_EQ(result.status, 0) << spec << ": " << result.err;
    const auto received = vault::signed_element_errors_from_json(json::parse(result.out));
    ASSERT_EQ(received.notice.errors.size(), 1u) << spec;
    EXPECT_TRUE(holder_accepts(received)) << spec;
  }

  ProcessResult whole = run("unspecified:address=Please resend");
  EXPECT_EQ(whole.status, 1);
  ASSERT_EQ(whole.err_lines().size(), 1u) << whole.err;
  EXPECT_NE(whole.err.find("the address element came without a hash"), std::string::npos)
      << whole.err;
  EXPECT_NE(whole.err.find("report a data field (data:address:FIELD) or a file"), std::string::npos)
      << whole.err;
  EXPECT_TRUE(whole.out.empty());
}
