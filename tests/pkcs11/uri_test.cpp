// RFC 7512 URIs and finding tokens by them.
#include "pkcs11/uri.h"

#include <gtest/gtest.h>

#include "pkcs11/token_info.h"
#include "pkcs11/token_resolver.h"
#include "tests/pkcs11/token_fixture.h"

namespace idvault::p11::test {
namespace {

TEST(Uri, ParsesObjectAttributes) {
  const Uri uri = Uri::parse("pkcs11:token=holder;object=identity;type=private;id=%01%02");
  const auto attrs = uri.object_template();
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_TRUE(uri.names_object());

  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  const char label[] = "identity";
  std::uint8_t id[] = {1, 2};
  const CK_ATTRIBUTE matching[] = {{CKA_CLASS, &private_class, sizeof private_class},
                                   {CKA_LABEL, const_cast<char*>(label), 8},
                                   {CKA_ID, id, 2}};
  EXPECT_TRUE(uri.matches_object(matching));
  std::uint8_t other_id[] = {1, 3};
  const CK_ATTRIBUTE other[] = {{CKA_CLASS, &private_class, sizeof private_class},
                                {CKA_LABEL, const_cast<char*>(label), 8},
                                {CKA_ID, other_id, 2}};
  EXPECT_FALSE(uri.matches_object(other));
}

TEST(Uri, ReadsModulePathAndPinSource) {
  const Uri uri = Uri::parse(
      "pkcs11:token=holder?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
  EXPECT_EQ(uri.module_path(), "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(uri.pin_source(), "file:/run/pin");
  EXPECT_FALSE(uri.names_object());
  const Uri bare = Uri::parse("pkcs11:");
  EXPECT_FALSE(bare.module_path().has_value());
  EXPECT_FALSE(bare.pin_source().has_value());
}

TEST(Uri, MalformedUrisAreClearErrors) {
  for (const char* bad : {"http://example.com", "pkcs11:token=%zz", "holder",
                          "pkcs11:type=sideways", "pkcs11:flavour=vanilla"}) {
    try {
      (void)Uri::parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UriError& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_EQ(e.kind(), ErrorKind::bad_uri);
    }
  }
}

TEST_F(TokenTest, TokenUriMatchesAndRoundTrips) {
  EXPECT_EQ(token->label(), "test");
  const Uri own = Uri::parse(token->uri());
  EXPECT_NE(token->uri().find("token=test"), std::string::npos) << token->uri();
  EXPECT_EQ(resolve_token(module, own).get(), token.get());
}

TEST_F(TokenTest, EmptyUriMatchesTheOnlyToken) {
  EXPECT_EQ(resolve_token(module, Uri::parse("pkcs11:")).get(), token.get());
}

TEST_F(TokenTest, UnknownTokenIsNotFound) {
  try {
    (void)resolve_token(module, Uri::parse("pkcs11:token=nosuch"));
    FAIL() << "expected TokenNotFound";
  } catch (const TokenNotFound& e) {
    EXPECT_NE(std::string(e.what()).find("pkcs11:token=nosuch"), std::string::npos) << e.what();
  }
}

TEST_F(TokenTest, OpenTokenTakesModulePathFromUri) {
  auto via_uri = open_token("pkcs11:token=test?module-path=" + softhsm.module_path().string());
  EXPECT_EQ(via_uri.get(), token.get());
  EXPECT_THROW((void)open_token("pkcs11:token=test"), ModuleLoadError);
}

TEST(TokenResolver, SeveralMatchingTokensAreListedNotGuessed) {
  idvault::testing::SoftHsmEnvironment env;
  env.add_token("alpha");
  env.add_token("beta");
  auto module = Module::load(idvault::testing::softhsm_module_path());
  try {
    (void)resolve_token(module, Uri::parse("pkcs11:"));
    FAIL() << "expected AmbiguousToken";
  } catch (const AmbiguousToken& e) {
    ASSERT_EQ(e.candidates().size(), 2u);
    const std::string what = e.what();
    EXPECT_NE(what.find("token=alpha"), std::string::npos) << what;
    EXPECT_NE(what.find("token=beta"), std::string::npos) << what;
  }
  EXPECT_EQ(resolve_token(module, Uri::parse("pkcs11:token=beta"))->label(), "beta");
  EXPECT_EQ(resolve_token(module, Uri::parse("pkcs11:model=SoftHSM%20v2;token=alpha"))->label(),
            "alpha");
}

TEST(TokenList, ListsPresentTokensWithInfoAndUri) {
  idvault::testing::SoftHsmEnvironment env;
  env.add_token("alpha");
  env.add_token("beta");
  auto module = Module::load(idvault::testing::softhsm_module_path());
  std::vector<TokenInfo> tokens;
  for (auto& t : list_tokens(*module)) {
    // SoftHSM always offers one more, uninitialised token for --init-token --free.
    if ((t.flags & CKF_TOKEN_INITIALIZED) == 0) {
      EXPECT_TRUE(t.label.empty()) << t.label;
      continue;
    }
    tokens.push_back(std::move(t));
  }
  ASSERT_EQ(tokens.size(), 2u);
  for (const auto& t : tokens) {
    EXPECT_EQ(t.manufacturer, "SoftHSM project");
    EXPECT_EQ(t.model, "SoftHSM v2");
    EXPECT_FALSE(t.serial.empty());
    EXPECT_NE(t.flags & CKF_TOKEN_INITIALIZED, 0u);
    CK_TOKEN_INFO raw{};
    ASSERT_EQ(module->call(IDVAULT_P11_FN(C_GetTokenInfo), t.slot, &raw), CKR_OK);
    EXPECT_TRUE(Uri::parse(t.uri).matches_token(raw)) << t.uri;
  }
}

}  // namespace
}  // namespace idvault::p11::test
