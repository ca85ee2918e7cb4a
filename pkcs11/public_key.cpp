#include "pkcs11/public_key.h"

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/pem.h"
#include "pkcs11/object.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

[[noreturn]] void openssl_failed(const Object& key, const std::string& what) {
  throw BadArgument("public key export", key.token().label(), what);
}

openssl::PKey from_params(const Object& key, const char* type, OSSL_PARAM_BLD* builder) {
  openssl::Params params(OSSL_PARAM_BLD_to_param(builder));
  openssl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    openssl_failed(key, std::string("the token's ") + type + " public key is not valid");
  }
  return openssl::PKey(raw);
}

openssl::PKey rsa_public_key(const Object& key) {
  const Bytes n = key.attribute(CKA_MODULUS);
  const Bytes e = key.attribute(CKA_PUBLIC_EXPONENT);
  openssl::Bignum bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  openssl::Bignum bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  openssl::ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    openssl_failed(key, "cannot build an RSA key");
  }
  return from_params(key, "RSA", builder.get());
}

// CKA_EC_POINT is DER OCTET STRING(point) per PKCS#11; some modules give the bare
// point. Accept both, preferring the standard form.
Bytes unwrap_ec_point(const Bytes& attr) {
  const unsigned char* p = attr.data();
  openssl::Asn1OctetString octets(
      d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(attr.size())));
  if (octets && p == attr.data() + attr.size()) {
    const auto* data = ASN1_STRING_get0_data(octets.get());
    return Bytes(data, data + ASN1_STRING_length(octets.get()));
  }
  return attr;
}

openssl::PKey ec_public_key(const Object& key) {
  const Bytes params = key.attribute(CKA_EC_PARAMS);
  const Bytes point = unwrap_ec_point(key.attribute(CKA_EC_POINT));
  const unsigned char* p = params.data();
  openssl::Asn1Object oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params.size())));
  if (!oid) openssl_failed(key, "CKA_EC_PARAMS is not a named curve");
  const char* curve = OBJ_nid2sn(OBJ_obj2nid(oid.get()));
  if (curve == nullptr || OBJ_obj2nid(oid.get()) == NID_undef)
    openssl_failed(key, "unknown EC curve");
  openssl::ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    openssl_failed(key, "cannot build an EC key");
  }
  return from_params(key, "EC", builder.get());
}

}  // namespace

openssl::PKey public_key_of(const Object& key) {
  const CK_OBJECT_CLASS object_class = key.object_class();
  if (object_class != CKO_PUBLIC_KEY && object_class != CKO_PRIVATE_KEY) {
    throw BadArgument("public key export", key.token().label(),
                      "the object is not a public or private key");
  }
  switch (key.key_type()) {
    case CKK_RSA:
      return rsa_public_key(key);
    case CKK_EC:
      return ec_public_key(object_class == CKO_PUBLIC_KEY ? key : find_public_key_for(key));
    default:
      throw BadArgument("public key export", key.token().label(),
                        "only RSA and EC keys can be exported");
  }
}

Bytes spki_der(const EVP_PKEY& key) {
  return spki_der_of(key);
}

std::string spki_pem(const EVP_PKEY& key) {
  return public_key_pem_of(key);
}

std::string spki_fingerprint(const EVP_PKEY& key) {
  const Bytes der = spki_der(key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < digest_len; ++i) {
    const unsigned char b = digest[i];
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace idvault::p11
