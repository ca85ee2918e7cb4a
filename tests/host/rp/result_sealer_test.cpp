// Results sealed at rest (host/rp/service/result_sealer.h), on a throwaway SoftHSM2
// token: each part opens as itself in its own result, and nothing else opens at all.
#include "host/rp/service/result_sealer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/token_resolver.h"
#include "tests/support/softhsm_token.h"
#include "vault/keys/token_keys.h"

namespace idvault::rp {
namespace {

vault::ByteView view(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

bool contains(const vault::Bytes& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

class ResultSealerTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken softhsm{"service"};
  std::shared_ptr<p11::Token> token = p11::open_token(softhsm.uri(), softhsm.module_path());
  p11::Login login = p11::Login::open(token, softhsm.pin());
  p11::Object made = p11::generate_aes256_key(token, {"idvault-rp-seal", {0x01}});
  vault::TokenMasterKey seal_key =
      vault::TokenMasterKey::from_uri(token, "pkcs11:object=idvault-rp-seal");
  ResultSealer sealer{seal_key};

  static constexpr std::string_view kReport = R"({"name":"ERIKA MUSTERMANN","number":"C01X00T47"})";
  static constexpr std::string_view kScan = "\xff\xd8\xff\xe0 a passport scan \x00\x01\x02";
};

TEST_F(ResultSealerTest, EveryPartComesBackAsItWasAndNoneIsStoredInTheClear) {
  const auto sealing = sealer.seal_result("nonce-1");
  const vault::Bytes report = sealing.seal(report_part(), view(kReport));
  const vault::Bytes errors = sealing.seal(errors_part(), view("null"));
  const vault::Bytes scan = sealing.seal(file_part("front"), view(kScan));
  const vault::Bytes empty = sealing.seal(file_part("empty"), {});
  EXPECT_EQ(sealing.wrapped_key().size(), 40U);  // RFC 5649 of 32 bytes
  EXPECT_FALSE(contains(report, "ERIKA"));
  EXPECT_FALSE(contains(scan, "passport scan"));

  const auto opening = sealer.open_result("nonce-1", sealing.wrapped_key());
  EXPECT_EQ(opening.open(report_part(), report).reveal_text(), kReport);
  EXPECT_EQ(opening.open(errors_part(), errors).reveal_text(), "null");
  EXPECT_EQ(opening.open(file_part("front"), scan).reveal_text(), kScan);
  EXPECT_TRUE(opening.open(file_part("empty"), empty).empty());

  // Sealed twice, the same plaintext gives other bytes (a fresh key and IV each time).
  const auto again = sealer.seal_result("nonce-1");
  EXPECT_NE(again.wrapped_key(), sealing.wrapped_key());
  EXPECT_NE(again.seal(report_part(), view(kReport)), report);
}

TEST_F(ResultSealerTest, APartMovedToAnotherPartOrResultIsRefused) {
  const auto sealing = sealer.seal_result("nonce-1");
  const vault::Bytes report = sealing.seal(report_part(), view(kReport));
  const vault::Bytes front = sealing.seal(file_part("front"), view(kScan));
  const auto opening = sealer.open_result("nonce-1", sealing.wrapped_key());
  EXPECT_THROW((void)opening.open(errors_part(), report), SealedDataDamaged);
  EXPECT_THROW((void)opening.open(file_part("selfie"), front), SealedDataDamaged);
  EXPECT_THROW((void)opening.open(report_part(), front), SealedDataDamaged);
  // The same key and bytes filed under another nonce: refused too.
  const auto elsewhere = sealer.open_result("nonce-2", sealing.wrapped_key());
  EXPECT_THROW((void)elsewhere.open(report_part(), report), SealedDataDamaged);
  // Another result's data key.
  const auto other = sealer.seal_result("nonce-1");
  EXPECT_THROW((void)sealer.open_result("nonce-1", other.wrapped_key()).open(report_part(), report),
               SealedDataDamaged);
}

TEST_F(ResultSealerTest, AnyAlteredOrMissingByteIsRefused) {
  const auto sealing = sealer.seal_result("nonce-1");
  const vault::Bytes report = sealing.seal(report_part(), view(kReport));
  const auto opening = sealer.open_result("nonce-1", sealing.wrapped_key());
  for (std::size_t at = 0; at < report.size(); ++at) {
    vault::Bytes altered = report;
    altered[at] ^= 0x01;
    EXPECT_THROW((void)opening.open(report_part(), altered), SealedDataDamaged) << "byte " << at;
  }
  EXPECT_THROW((void)opening.open(report_part(), vault::Bytes(report.begin(), report.end() - 1)),
               SealedDataDamaged);
  EXPECT_THROW((void)opening.open(report_part(), vault::Bytes{}), SealedDataDamaged);
  vault::Bytes wrapped = sealing.wrapped_key();
  wrapped[5] ^= 0x80;
  EXPECT_THROW((void)sealer.open_result("nonce-1", wrapped), SealedDataDamaged);
  EXPECT_THROW((void)sealer.open_result("nonce-1", vault::Bytes(3, 0)), SealedDataDamaged);
}

TEST_F(ResultSealerTest, AnotherSealKeyOpensNothing) {
  (void)p11::generate_aes256_key(token, {"other-seal", {0x02}});
  const auto other_key = vault::TokenMasterKey::from_uri(token, "pkcs11:object=other-seal");
  const ResultSealer other(other_key);
  const auto sealing = sealer.seal_result("nonce-1");
  EXPECT_THROW((void)other.open_result("nonce-1", sealing.wrapped_key()), SealedDataDamaged);
}

// serve seals with AES-GCM where the token has it; a store whose data keys were wrapped
// with AES key wrap (before that) is refused as damaged, not misread.
TEST_F(ResultSealerTest, GcmSealsAndRefusesAKeyWrappedDataKey) {
  const auto gcm_key = vault::TokenMasterKey::from_uri(token, "pkcs11:object=idvault-rp-seal",
                                                       vault::TokenMasterKey::Mode::aes_gcm);
  const ResultSealer gcm(gcm_key);
  const auto sealing = gcm.seal_result("nonce-1");
  const auto sealed = sealing.seal(report_part(), view(kReport));
  EXPECT_EQ(
      gcm.open_result("nonce-1", sealing.wrapped_key()).open(report_part(), sealed).reveal_text(),
      kReport);
  const auto wrapped_before = sealer.seal_result("nonce-1").wrapped_key();
  EXPECT_THROW((void)gcm.open_result("nonce-1", wrapped_before), SealedDataDamaged);
}

}  // namespace
}  // namespace idvault::rp
