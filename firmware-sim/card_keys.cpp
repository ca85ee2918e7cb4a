#include "firmware-sim/card_keys.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <string>

namespace idvault::cardsim {

namespace {

// OpenSSL's error queue is per thread; leaving entries behind would make a later,
// unrelated failure report a stale reason.
[[noreturn]] void fail(const std::string& what) {
  ERR_clear_error();
  throw CardsimError(what);
}
[[noreturn]] void reject_input(const std::string& what) {
  ERR_clear_error();
  throw CardInputError(what);
}

std::string group_name_of(const EVP_PKEY* key) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
      1) {
    fail("EC key without a named curve");
  }
  return std::string(name, len);
}

PivAlgorithm algorithm_of(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 1024:
        return PivAlgorithm::rsa1024;
      case 2048:
        return PivAlgorithm::rsa2048;
      case 3072:
        return PivAlgorithm::rsa3072;
      default:
        fail("RSA key size not supported by PIV (use 1024, 2048 or 3072 bits)");
    }
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    const std::string group = group_name_of(key);
    if (group == "prime256v1" || group == "P-256") return PivAlgorithm::ecc_p256;
    if (group == "secp384r1" || group == "P-384") return PivAlgorithm::ecc_p384;
    fail("EC curve " + group + " not supported by PIV (use P-256 or P-384)");
  }
  fail("key type not supported by PIV (use RSA or EC)");
}

PkeyCtxOwner context_for(EVP_PKEY* key) {
  PkeyCtxOwner ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx) fail("EVP_PKEY_CTX_new_from_pkey failed");
  return ctx;
}

}  // namespace

CardKey::CardKey(PkeyOwner key)
    : key_(std::move(key)),
      algorithm_(algorithm_of(key_.get())),
      size_bytes_(static_cast<std::size_t>((EVP_PKEY_get_bits(key_.get()) + 7) / 8)) {}

CardKey CardKey::generate_ec(std::string_view group_name) {
  const std::string group(group_name);
  PkeyOwner key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group.c_str()));
  if (!key) fail("EC key generation failed for curve " + group);
  return CardKey(std::move(key));
}

CardKey CardKey::generate_rsa(unsigned bits) {
  if (bits != 1024 && bits != 2048 && bits != 3072) {
    throw CardsimError("RSA key size must be 1024, 2048 or 3072 bits (PIV algorithms 06, 07, 05)");
  }
  PkeyOwner key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!key) fail("RSA key generation failed");
  return CardKey(std::move(key));
}

CardKey CardKey::from_private_pem(const WipedBytes& pem) {
  BioOwner bio(BIO_new_mem_buf(pem.reveal().data(), static_cast<int>(pem.size())));
  if (!bio) fail("BIO_new_mem_buf failed");
  PkeyOwner key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("private key PEM does not parse");
  return CardKey(std::move(key));
}

WipedBytes CardKey::private_pem() const {
  // A memory BIO's buffer is released with OPENSSL_clear_free, so no copy lingers there.
  BioOwner bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("could not encode the private key as PEM");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) fail("could not encode the private key as PEM");
  return WipedBytes(
      std::span(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)));
}

Bytes CardKey::public_key_spki_der() const {
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  if (len <= 0) fail("could not encode the public key");
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key_.get(), &p) != len) fail("could not encode the public key");
  return out;
}

bool CardKey::is_rsa() const {
  return EVP_PKEY_is_a(key_.get(), "RSA") == 1;
}

Bytes CardKey::self_signed_certificate_der(std::string_view common_name) const {
  X509Owner cert(X509_new());
  if (!cert) fail("X509_new failed");
  X509_NAME* subject = X509_get_subject_name(cert.get());  // owned by cert
  const std::string cn(common_name);
  std::uint8_t serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail("RAND_bytes failed");
  serial_bytes[0] &= 0x7F;  // a positive INTEGER, as RFC 5280 requires
  BignumOwner serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  constexpr long kTenYears = 10L * 365 * 24 * 3600;
  if (!serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kTenYears) == nullptr ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1 ||
      X509_set_pubkey(cert.get(), key_.get()) != 1 ||
      X509_sign(cert.get(), key_.get(), EVP_sha256()) <= 0) {
    fail("could not build the self-signed certificate");
  }
  const int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) fail("could not encode the certificate");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(cert.get(), &p) != len) fail("could not encode the certificate");
  return der;
}

Bytes CardKey::rsa_raw_private(ByteView input) const {
  if (!is_rsa()) reject_input("not an RSA key");
  if (input.size() != size_bytes_) reject_input("RSA input is not modulus-sized");
  const PkeyCtxOwner ctx = context_for(key_.get());
  if (EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1) {
    fail("RSA raw decrypt set-up failed");
  }
  std::size_t out_len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &out_len, input.data(), input.size()) != 1) {
    reject_input("RSA input rejected");
  }
  Bytes out(out_len);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &out_len, input.data(), input.size()) != 1) {
    reject_input("RSA input is not below the modulus");
  }
  out.resize(out_len);
  return out;
}

Bytes CardKey::ecdsa_sign_digest(ByteView digest) const {
  if (is_rsa()) reject_input("not an EC key");
  if (digest.empty() || digest.size() > size_bytes_)
    reject_input("ECDSA input longer than the field");
  const PkeyCtxOwner ctx = context_for(key_.get());
  if (EVP_PKEY_sign_init(ctx.get()) != 1) fail("ECDSA set-up failed");
  std::size_t sig_len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &sig_len, digest.data(), digest.size()) != 1) {
    fail("ECDSA signing failed");
  }
  Bytes sig(sig_len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &sig_len, digest.data(), digest.size()) != 1) {
    fail("ECDSA signing failed");
  }
  sig.resize(sig_len);
  return sig;
}

Bytes CardKey::ecdh_shared_x(ByteView peer_point) const {
  if (is_rsa()) reject_input("not an EC key");
  if (peer_point.size() != 1 + 2 * size_bytes_ || peer_point[0] != 0x04) {
    reject_input("ECDH peer point is not an uncompressed point of this curve");
  }
  std::string group = group_name_of(key_.get());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_PKEY_PARAM_PUB_KEY, const_cast<std::uint8_t*>(peer_point.data()), peer_point.size()),
      OSSL_PARAM_construct_end(),
  };
  PkeyCtxOwner import_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!import_ctx || EVP_PKEY_fromdata_init(import_ctx.get()) != 1) fail("EC import set-up failed");
  EVP_PKEY* raw_peer = nullptr;
  if (EVP_PKEY_fromdata(import_ctx.get(), &raw_peer, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    reject_input("ECDH peer point is not on the curve");
  }
  const PkeyOwner peer(raw_peer);
  const PkeyCtxOwner ctx = context_for(key_.get());
  if (EVP_PKEY_derive_init(ctx.get()) != 1) fail("ECDH set-up failed");
  // validate_peer = 1: an invalid point must never reach the scalar multiplication.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 1) != 1) {
    reject_input("ECDH peer point rejected");
  }
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) fail("ECDH failed");
  Bytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) fail("ECDH failed");
  secret.resize(len);
  return secret;
}

PkeyOwner public_key_from_certificate_der(ByteView der) {
  const unsigned char* p = der.data();
  X509Owner cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) fail("certificate DER does not parse");
  PkeyOwner key(X509_get_pubkey(cert.get()));
  if (!key) fail("certificate has no usable public key");
  return key;
}

}  // namespace idvault::cardsim
