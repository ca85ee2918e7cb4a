// The envelope every signed statement shares (receipts, attestations, signed element
// errors): whatever a peer puts where the version goes, readers answer FormatError.
#include "vault/signed_statement.h"

#include <gtest/gtest.h>

#include "vault/attestation.h"
#include "vault/element_error_signature.h"
#include "vault/errors.h"
#include "vault/share_receipt.h"

namespace idvault::vault {
namespace {

nlohmann::json envelope(const char* alg, const nlohmann::json& version) {
  nlohmann::json signed_part = {{"element_type", "passport"}, {"level", "basic"}};
  if (!version.is_discarded()) signed_part["v"] = version;
  return {{"alg", alg}, {"public_key", "QUJD"}, {"signature", "QUJD"}, {"signed", signed_part}};
}

void expect_version_refused(const nlohmann::json& version) {
  SCOPED_TRACE(version.dump());
  const auto refuses = [](auto read, const nlohmann::json& json, const std::string& where) {
    try {
      (void)read(json);
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& error) {
      EXPECT_EQ(error.where(), where);
    }
  };
  refuses([](const nlohmann::json& j) { return attestation_from_json(j); }, envelope("ES256", version),
          "attestation.signed.v");
  refuses([](const nlohmann::json& j) { return receipt_from_json(j); }, envelope("ES256", version),
          "receipt.signed.v");
  refuses([](const nlohmann::json& j) { return signed_element_errors_from_json(j); },
          envelope("PS256", version), "element_errors.signed.v");
}

TEST(SignedStatement, AVersionOfTheWrongTypeIsAFormatErrorNotAJsonException) {
  // fuzz_agent_params found "v": "<a string>" escaping attestation.add as
  // nlohmann's type_error (value("v", 0) on a string).
  expect_version_refused("ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ=");
  expect_version_refused(nlohmann::json::array({1}));
  expect_version_refused(nlohmann::json::object());
  expect_version_refused(true);
  expect_version_refused(nullptr);
  expect_version_refused(1.5);  // value<int> would have truncated this to 1
  expect_version_refused(2);
  expect_version_refused(nlohmann::json(nlohmann::json::value_t::discarded));  // missing
}

TEST(SignedStatement, VersionOneIsRead) {
  const SignedStatement statement = read_signed_statement(envelope("ES256", 1), "ES256", "x");
  EXPECT_EQ(statement.statement["v"], 1);
  EXPECT_EQ(statement.public_key_spki_der, (Bytes{'A', 'B', 'C'}));
}

}  // namespace
}  // namespace idvault::vault
