// Authorization links: every accepted form, decoding, TDLib's rejection cases, keys.
#include "vault/model/auth_link.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>

#include "tests/vault/model/test_public_keys.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kPackedScope = R"({"v":1,"d":[{"_":"pd","n":1},"pn"]})";

// encodeURIComponent, written out independently of the code under test.
std::string uri_component(std::string_view text) {
  std::string out;
  char buffer[4];
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) ||
        std::string_view("-_.!~*'()").find(c) != std::string_view::npos) {
      out += c;
    } else {
      std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned char>(c));
      out += buffer;
    }
  }
  return out;
}

std::string query(std::string_view bot_id = "543260180", std::string_view scope = kPackedScope,
                  std::string_view key = test_keys::kRsa2048Spki, std::string_view nonce = "b8ee") {
  return "bot_id=" + uri_component(bot_id) + "&scope=" + uri_component(scope) +
         "&public_key=" + uri_component(key) + "&nonce=" + uri_component(nonce);
}

std::string tg_link(const std::string& rest) {
  return "tg://resolve?domain=telegrampassport&" + rest;
}

FormatError link_error(std::string_view url) {
  try {
    static_cast<void>(parse_authorization_link(url));
  } catch (const FormatError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for " << url;
  return FormatError("", "");
}

bool says(const FormatError& error, std::string_view text) {
  return std::string_view(error.what()).find(text) != std::string_view::npos;
}

TEST(AuthLink, ParsesTheSdkLink) {
  const auto request = parse_authorization_link(
      tg_link(query() + "&callback_url=" + uri_component("https://example.org/cb?ssid=b8ee") +
              "&payload=nonce"));
  EXPECT_EQ(request.service_id, "543260180");
  EXPECT_EQ(request.scope_text, kPackedScope);
  EXPECT_EQ(request.scope.form, ScopeForm::packed_json);
  EXPECT_TRUE(request.scope.wants_native_names());
  EXPECT_EQ(request.public_key_pem, test_keys::kRsa2048Spki);  // %0A decoded back to newlines
  EXPECT_EQ(request.nonce, "b8ee");                            // nonce wins over payload
  EXPECT_EQ(request.payload, "nonce");
  EXPECT_EQ(request.callback_url, "https://example.org/cb?ssid=b8ee");
  EXPECT_FALSE(request.credentials_use_payload_key());
}

TEST(AuthLink, AcceptsEveryForm) {
  const std::string q = query();
  for (const std::string& url :
       {"tg://resolve?domain=telegrampassport&" + q, "tg:resolve?domain=telegrampassport&" + q,
        "tg://resolve?" + q + "&domain=telegrampassport",
        "TG://RESOLVE?domain=TelegramPassport&" + q, "tg://passport?" + q,
        "https://t.me/telegrampassport?" + q, "http://telegram.me/telegrampassport?" + q,
        "idvault://authorize?" + q, "tg://passport?" + q + "#fragment"}) {
    const auto request = parse_authorization_link(url);
    EXPECT_EQ(request.service_id, "543260180") << url;
    EXPECT_EQ(request.nonce, "b8ee") << url;
    EXPECT_FALSE(request.callback_url) << url;
  }
}

TEST(AuthLink, RejectsOtherLinks) {
  for (const std::string& url :
       {std::string(""), std::string("https://example.org/?") + query(),
        "tg://resolve?domain=durov&" + query(), "tg://resolve?" + query(),
        "tg://passport" + query(), "idvault://share?" + query(), "https://t.me/durov?" + query()}) {
    const auto error = link_error(url);
    EXPECT_TRUE(error.where() == "link" || error.where() == "link.domain") << url;
  }
}

TEST(AuthLink, BotIdMustBeAPositiveInteger) {
  for (const char* bad :
       {"0", "-1", "abc", "", "+5", "1.0", "12 3", "1099511627776", "99999999999999999999999"}) {
    const auto error = link_error(tg_link(query(bad)));
    EXPECT_EQ(error.where(), "link.bot_id") << bad;
  }
  EXPECT_EQ(parse_authorization_link(tg_link(query("1099511627775"))).service_id, "1099511627775");
  EXPECT_EQ(parse_authorization_link(tg_link(query("007"))).service_id, "7");
  const auto missing =
      link_error("tg://passport?scope=email&public_key=" + uri_component(test_keys::kRsa2048Spki) +
                 "&nonce=n");
  EXPECT_EQ(missing.where(), "link.bot_id");
}

TEST(AuthLink, IdvaultLinksTakeAnyServiceId) {
  const auto request = parse_authorization_link("idvault://authorize?" + query("bank.example/kyc"));
  EXPECT_EQ(request.service_id, "bank.example/kyc");
  EXPECT_EQ(link_error("idvault://authorize?" + query("")).where(), "link.bot_id");
  EXPECT_EQ(link_error("idvault://authorize?" + query("a\nb")).where(), "link.bot_id");
}

TEST(AuthLink, ScopePublicKeyAndNonceMustBeNonEmpty) {
  EXPECT_EQ(link_error(tg_link(query("12345", ""))).where(), "link.scope");
  EXPECT_EQ(link_error(tg_link(query("12345", kPackedScope, ""))).where(), "link.public_key");
  EXPECT_EQ(link_error(tg_link(query("12345", kPackedScope, test_keys::kRsa2048Spki, ""))).where(),
            "link.nonce");
  // TDLib: "...&payload=" with no nonce is rejected.
  EXPECT_EQ(link_error("tg://passport?bot_id=12345&public_key=" +
                       uri_component(test_keys::kRsa2048Spki) + "&scope=email&payload=")
                .where(),
            "link.nonce");
}

TEST(AuthLink, NonceFallsBackToLegacyPayload) {
  const auto base = "tg://passport?bot_id=12345&scope=" + uri_component(R"(["personal_details"])") +
                    "&public_key=" + uri_component(test_keys::kRsa2048Spki);
  auto request = parse_authorization_link(base + "&payload=legacy");
  EXPECT_EQ(request.nonce, "legacy");
  EXPECT_TRUE(request.credentials_use_payload_key());  // a 1.0 array scope
  request = parse_authorization_link(base + "&nonce=&payload=legacy");
  EXPECT_EQ(request.nonce, "legacy");
  request = parse_authorization_link(base + "&payload=legacy&nonce=fresh");
  EXPECT_EQ(request.nonce, "fresh");
}

TEST(AuthLink, ScopeErrorsKeepTheirPositionUnderTheLink) {
  const auto error = link_error(
      tg_link(query("12345", R"({"data":["email",{"type":"address","selfie":true}],"v":1})")));
  EXPECT_EQ(error.where(), "link.scope.data[1]");
  EXPECT_TRUE(says(error, "selfie is not allowed for address"));
  EXPECT_EQ(link_error(tg_link(query("12345", R"({"v":1,"d":[{""]}]})"))).where(), "link.scope");
}

TEST(AuthLink, PercentDecoding) {
  // '+' stays '+', as encodeURIComponent never writes '+' for a space.
  auto request = parse_authorization_link(
      "tg://passport?bot_id=1&scope=email&public_key=" + uri_component(test_keys::kRsa2048Spki) +
      "&nonce=a+b%20c%2B");
  EXPECT_EQ(request.nonce, "a+b c+");
  // Lower-case hex is fine; unencoded JSON characters are fine too.
  request = parse_authorization_link(
      "tg://passport?bot_id=1&scope=%5b%22email%22%5d&nonce=x&public_key=" +
      uri_component(test_keys::kRsa2048Spki));
  EXPECT_EQ(request.scope_text, R"(["email"])");
  for (const char* bad_nonce : {"%", "%4", "%zz", "abc%g1", "%%41"}) {
    const auto error = link_error(tg_link(query("12345", kPackedScope, test_keys::kRsa2048Spki)) +
                                  "&callback_url=" + bad_nonce);
    EXPECT_EQ(error.where(), "link.callback_url") << bad_nonce;
    EXPECT_TRUE(says(error, "malformed %-escape")) << bad_nonce;
  }
}

TEST(AuthLink, DecodedValuesMustBeUtf8) {
  const auto error = link_error(tg_link(query()) + "&callback_url=%FF");
  EXPECT_EQ(error.where(), "link.callback_url");
  EXPECT_EQ(link_error(tg_link(query("1", kPackedScope, test_keys::kRsa2048Spki, "\xc3"))).where(),
            "link.nonce");
}

TEST(AuthLink, DuplicateParametersAreRejectedUnknownOnesIgnored) {
  auto error = link_error(tg_link(query() + "&nonce=other"));
  EXPECT_EQ(error.where(), "link.nonce");
  EXPECT_TRUE(says(error, "more than once"));
  EXPECT_EQ(link_error(tg_link(query() + "&bot_id=1")).where(), "link.bot_id");
  EXPECT_EQ(link_error(tg_link(query()) + "&domain=telegrampassport").where(), "link.domain");
  const auto request =
      parse_authorization_link(tg_link(query() + "&utm_source=x&utm_source=y&&flag"));
  EXPECT_EQ(request.nonce, "b8ee");
}

TEST(AuthLink, PublicKeyMustBeRsaSpkiPem) {
  auto error = link_error(tg_link(query("1", kPackedScope, test_keys::kRsa2048Pkcs1)));
  EXPECT_EQ(error.where(), "link.public_key");
  EXPECT_TRUE(says(error, "PKCS#1"));
  EXPECT_TRUE(says(error, "BEGIN PUBLIC KEY"));

  error = link_error(tg_link(query("1", kPackedScope, test_keys::kEcP256Spki)));
  EXPECT_EQ(error.where(), "link.public_key");
  EXPECT_TRUE(says(error, "not an RSA key"));

  error = link_error(tg_link(query("1", kPackedScope, test_keys::kRsa1024Spki)));
  EXPECT_TRUE(says(error, "1024-bit"));

  error = link_error(tg_link(query("1", kPackedScope, "BEGIN PUBLIC KEY\n")));
  EXPECT_TRUE(says(error, "not a PEM public key"));

  std::string truncated = test_keys::kRsa2048Spki;
  truncated.erase(100, 40);
  error = link_error(tg_link(query("1", kPackedScope, truncated)));
  EXPECT_EQ(error.where(), "link.public_key");

  error = link_error(tg_link(
      query("1", kPackedScope, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")));
  EXPECT_TRUE(says(error, "private key"));
}

TEST(AuthLink, OverlongLinkIsRejected) {
  const auto error = link_error(tg_link(query() + "&x=" + std::string(70000, 'a')));
  EXPECT_EQ(error.where(), "link");
}

AuthorizationRequest sample_request() {
  AuthorizationRequest request;
  request.service_id = "543260180";
  request.scope_text = std::string(kPackedScope);
  request.scope = parse_scope(kPackedScope);
  request.public_key_pem = test_keys::kRsa2048Spki;
  request.nonce = "n0nce with spaces & symbols/+=?";
  request.callback_url = "https://example.org/done?x=1&y=\xc3\xa9";
  return request;
}

void expect_same_request(const AuthorizationRequest& a, const AuthorizationRequest& b) {
  EXPECT_EQ(a.service_id, b.service_id);
  EXPECT_EQ(a.scope_text, b.scope_text);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.public_key_pem, b.public_key_pem);
  EXPECT_EQ(a.nonce, b.nonce);
  EXPECT_EQ(a.callback_url, b.callback_url);
}

TEST(AuthLinkBuilder, TgFormRoundTripsAndCarriesPayload) {
  const auto request = sample_request();
  const auto link = build_authorization_link(request, LinkFormat::tg);
  EXPECT_EQ(
      link.rfind("tg://resolve?domain=telegrampassport&bot_id=543260180&scope=%7B%22v%22%3A1", 0),
      0u)
      << link;
  EXPECT_NE(link.find("public_key=-----BEGIN%20PUBLIC%20KEY-----%0A"), std::string::npos);
  EXPECT_EQ(link.find(' '), std::string::npos);
  EXPECT_EQ(link.find('+'), std::string::npos);
  const auto parsed = parse_authorization_link(link);
  expect_same_request(parsed, request);
  EXPECT_EQ(parsed.payload, request.nonce);
}

TEST(AuthLinkBuilder, IdvaultFormRoundTrips) {
  auto request = sample_request();
  request.service_id = "kyc.bank.example";
  request.callback_url.reset();
  const auto link = build_authorization_link(request, LinkFormat::idvault);
  EXPECT_EQ(link.rfind("idvault://authorize?bot_id=kyc.bank.example&scope=", 0), 0u) << link;
  EXPECT_EQ(link.find("payload="), std::string::npos);
  expect_same_request(parse_authorization_link(link), request);
}

TEST(AuthLinkBuilder, WritesThePackedScopeWhenNoTextIsGiven) {
  auto request = sample_request();
  request.scope_text.clear();
  const auto parsed = parse_authorization_link(build_authorization_link(request, LinkFormat::tg));
  EXPECT_EQ(parsed.scope_text, to_packed_json(request.scope));
  EXPECT_EQ(parsed.scope, request.scope);
}

TEST(AuthLinkBuilder, RefusesInvalidRequests) {
  auto request = sample_request();
  request.service_id = "kyc.bank.example";
  EXPECT_THROW(static_cast<void>(build_authorization_link(request, LinkFormat::tg)), FormatError);
  request = sample_request();
  request.public_key_pem = test_keys::kRsa2048Pkcs1;
  EXPECT_THROW(static_cast<void>(build_authorization_link(request, LinkFormat::idvault)),
               FormatError);
  request = sample_request();
  request.nonce.clear();
  EXPECT_THROW(static_cast<void>(build_authorization_link(request, LinkFormat::idvault)),
               FormatError);
  request = sample_request();
  request.scope_text = "not,a,scope";
  EXPECT_THROW(static_cast<void>(build_authorization_link(request, LinkFormat::idvault)),
               FormatError);
}

}  // namespace
}  // namespace idvault::vault
