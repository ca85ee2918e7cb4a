#include "vault/signed/signed_statement.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>

#include "common/base64.h"
#include "common/hex.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

// Every P-256 SPKI in DER is these 26 bytes (SEQUENCE, id-ecPublicKey, prime256v1, BIT
// STRING) and then the 65-byte uncompressed point.
constexpr std::array<std::uint8_t, 26> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

// The point imported straight (OpenSSL checks it is on the curve): d2i_PUBKEY asks every
// decoder of every provider first, which cost a service about a sixth of its CPU per
// bundle for the receipt's key alone.
openssl::PKey p256_key_from_point(ByteView point) {
  openssl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  char group[] = SN_X9_62_prime256v1;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    ERR_clear_error();
    return nullptr;
  }
  return openssl::PKey(key);
}

openssl::PKey ec_p256_key(ByteView spki_der) {
  if (spki_der.size() == kP256SpkiPrefix.size() + 65 &&
      std::equal(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end(), spki_der.begin()))
    return p256_key_from_point(spki_der.subspan(kP256SpkiPrefix.size()));
  const unsigned char* der = spki_der.data();
  openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki_der.size())));
  if (!openssl::is_ec_p256(key.get())) return nullptr;
  return key;
}

constexpr int kPssSaltBytes = 32;

}  // namespace

std::string canonical_bytes(const nlohmann::json& statement) {
  // nlohmann::json keeps object keys sorted: that, no spaces and ASCII make it canonical.
  return statement.dump(-1, ' ', /*ensure_ascii=*/true);
}

SignedStatement read_signed_statement(const nlohmann::json& json, std::string_view alg,
                                      const std::string& where) {
  if (!json.is_object()) throw FormatError(where, "not a JSON object");
  if (json_fields::require_string(json, "alg", where) != alg) {
    throw FormatError(where + ".alg", "only " + std::string(alg) + " is known");
  }
  SignedStatement statement;
  statement.public_key_spki_der =
      base64_decode(json_fields::require_string(json, "public_key", where), where + ".public_key");
  statement.signature =
      base64_decode(json_fields::require_string(json, "signature", where), where + ".signature");
  auto part = json.find("signed");
  if (part == json.end() || !part->is_object())
    throw FormatError(where + ".signed", "missing or not an object");
  // Not part->value("v", 0): that throws nlohmann's type_error for a "v" of another type
  // (fuzz_agent_params found "v": "...") and truncates 1.5 to 1.
  auto version = part->find("v");
  if (version == part->end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != 1) {
    throw FormatError(where + ".signed.v", "unknown version");
  }
  statement.statement = *part;
  return statement;
}

nlohmann::ordered_json write_signed_statement(std::string_view alg, ByteView public_key_spki_der,
                                              const std::string& canonical, ByteView signature) {
  nlohmann::ordered_json json;
  json["alg"] = alg;
  json["public_key"] = base64_encode(public_key_spki_der);
  json["signed"] = nlohmann::ordered_json::parse(canonical);
  json["signature"] = base64_encode(signature);
  return json;
}

bool verify_es256(ByteView spki_der, ByteView message, ByteView raw_signature) noexcept {
  try {
    if (raw_signature.size() != 64) return false;
    openssl::PKey key = ec_p256_key(spki_der);
    if (!key) return false;
    openssl::EcdsaSig sig(ECDSA_SIG_new());
    openssl::Bignum r(BN_bin2bn(raw_signature.data(), 32, nullptr));
    openssl::Bignum s(BN_bin2bn(raw_signature.data() + 32, 32, nullptr));
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
    (void)r.release();  // ownership passes to sig only when set0 succeeds
    (void)s.release();
    unsigned char* der_sig = nullptr;
    const int der_size = i2d_ECDSA_SIG(sig.get(), &der_sig);
    if (der_size <= 0) return false;
    openssl::Buffer owned(der_sig);
    openssl::DigestCtx ctx = openssl::make_digest_ctx();
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, openssl::sha256(), nullptr, key.get()) != 1)
      return false;
    return EVP_DigestVerify(ctx.get(), der_sig, static_cast<std::size_t>(der_size), message.data(),
                            message.size()) == 1;
  } catch (...) {
    return false;
  }
}

Bytes sign_ps256(EVP_PKEY* key, ByteView message) {
  openssl::DigestCtx ctx = openssl::make_digest_ctx();
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  openssl::check(EVP_DigestSignInit(ctx.get(), &pkey_ctx, openssl::sha256(), nullptr, key),
                 "EVP_DigestSignInit");
  openssl::check(EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING),
                 "EVP_PKEY_CTX_set_rsa_padding");
  openssl::check(EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, openssl::sha256()),
                 "EVP_PKEY_CTX_set_rsa_mgf1_md");
  openssl::check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, kPssSaltBytes),
                 "EVP_PKEY_CTX_set_rsa_pss_saltlen");
  std::size_t size = 0;
  openssl::check(EVP_DigestSign(ctx.get(), nullptr, &size, message.data(), message.size()),
                 "EVP_DigestSign");
  Bytes signature(size);
  openssl::check(EVP_DigestSign(ctx.get(), signature.data(), &size, message.data(), message.size()),
                 "EVP_DigestSign");
  signature.resize(size);
  return signature;
}

bool verify_ps256(ByteView spki_der, ByteView message, ByteView signature) noexcept {
  try {
    const unsigned char* der = spki_der.data();
    openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki_der.size())));
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return false;
    openssl::DigestCtx ctx = openssl::make_digest_ctx();
    EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
    if (EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, openssl::sha256(), nullptr, key.get()) != 1)
      return false;
    if (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, openssl::sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, kPssSaltBytes) != 1) {
      return false;
    }
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size()) == 1;
  } catch (...) {
    return false;
  }
}

std::string sha256_hex(ByteView bytes) {
  unsigned char digest[32];
  unsigned int size = 0;
  openssl::check(EVP_Digest(bytes.data(), bytes.size(), digest, &size, openssl::sha256(), nullptr),
                 "EVP_Digest");
  return hex_lower(digest);
}

}  // namespace idvault::vault
