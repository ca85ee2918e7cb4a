// The envelope every signed statement shares (receipts, attestations, signed element
// errors): whatever a peer puts where the version goes, readers answer FormatError.
#include "vault/signed/signed_statement.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/openssl_owners.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/element_error_signature.h"
#include "vault/signed/share_receipt.h"

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
  refuses([](const nlohmann::json& j) { return attestation_from_json(j); },
          envelope("ES256", version), "attestation.signed.v");
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

// A key on `curve`, its SPKI DER, and an ES256-shaped signature (SHA-256, r||s of 32
// bytes each) over message.
struct CurveSignature {
  Bytes spki_der;
  std::string pem;
  Bytes raw_signature;
};

CurveSignature sign_on_curve(const char* curve, ByteView message) {
  openssl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!key) throw std::runtime_error(std::string("no ") + curve + " key");
  CurveSignature out;
  unsigned char* der = nullptr;
  const int der_size = i2d_PUBKEY(key.get(), &der);
  const openssl::Buffer owned_der(der);
  out.spki_der.assign(der, der + der_size);
  openssl::Bio bio = openssl::make_memory_bio();
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  // Two statements: the order in which a call's arguments are evaluated is unspecified
  // (clang reads `pem` before BIO_get_mem_data has set it, GCC after).
  char* pem = nullptr;
  const long pem_size = BIO_get_mem_data(bio.get(), &pem);
  out.pem.assign(pem, static_cast<std::size_t>(pem_size));
  openssl::DigestCtx ctx = openssl::make_digest_ctx();
  std::size_t size = 0;
  openssl::check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), "init");
  openssl::check(EVP_DigestSign(ctx.get(), nullptr, &size, message.data(), message.size()), "size");
  Bytes signature(size);
  openssl::check(EVP_DigestSign(ctx.get(), signature.data(), &size, message.data(), message.size()),
                 "sign");
  const unsigned char* cursor = signature.data();
  openssl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(size)));
  out.raw_signature.resize(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.raw_signature.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.raw_signature.data() + 32, 32);
  return out;
}

// Issue 13.18: any 256-bit curve passed for P-256. A valid secp256k1 signature verified.
TEST(SignedStatement, Es256AcceptsP256KeysOnly) {
  const ByteView message = bytes_of("a canonical statement");
  const CurveSignature p256 = sign_on_curve("P-256", message);
  EXPECT_TRUE(verify_es256(p256.spki_der, message, p256.raw_signature));
  EXPECT_NO_THROW((void)verifier_key_from_pem(p256.pem, "trust"));
  for (const char* curve : {"secp256k1", "brainpoolP256r1"}) {
    SCOPED_TRACE(curve);
    const CurveSignature other = sign_on_curve(curve, message);
    EXPECT_FALSE(verify_es256(other.spki_der, message, other.raw_signature));
    EXPECT_THROW((void)verifier_key_from_pem(other.pem, "trust"), FormatError);
  }
}

}  // namespace
}  // namespace idvault::vault
