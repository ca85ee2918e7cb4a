#include "tests/support/host_crypto.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace idvault::testing {

namespace {

void ensure(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

}  // namespace

openssl::PKey load_public_pem(const std::string& pem) {
  const openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ensure(bio != nullptr, "BIO_new_mem_buf");
  openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ensure(key != nullptr, "PEM_read_bio_PUBKEY");
  return key;
}

openssl::PKey load_public_der(ByteView spki_der) {
  const unsigned char* p = spki_der.data();
  openssl::PKey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  ensure(key != nullptr, "d2i_PUBKEY");
  return key;
}

openssl::PKey generate_rsa_host_key(unsigned bits) {
  openssl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  ensure(key != nullptr, "EVP_PKEY_Q_keygen");
  return key;
}

Bytes oaep_encrypt(EVP_PKEY& key, ByteView plaintext, bool sha256) {
  openssl::PKeyCtx ctx(EVP_PKEY_CTX_new(&key, nullptr));
  const EVP_MD* md = sha256 ? EVP_sha256() : EVP_sha1();
  ensure(ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1,
         "OAEP setup");
  size_t length = 0;
  ensure(EVP_PKEY_encrypt(ctx.get(), nullptr, &length, plaintext.data(), plaintext.size()) == 1,
         "OAEP size");
  Bytes out(length);
  ensure(EVP_PKEY_encrypt(ctx.get(), out.data(), &length, plaintext.data(), plaintext.size()) == 1,
         "OAEP encrypt");
  out.resize(length);
  return out;
}

bool verify_ecdsa_sha256_der(EVP_PKEY& key, ByteView message, ByteView der_signature) {
  const openssl::DigestCtx ctx(EVP_MD_CTX_new());
  ensure(ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, &key) == 1,
         "verify init");
  return EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(), message.data(),
                          message.size()) == 1;
}

bool verify_pss_sha256(EVP_PKEY& key, ByteView message, ByteView signature) {
  const openssl::DigestCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  ensure(ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, &key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1,
         "PSS verify init");
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

Bytes random_bytes(std::size_t size) {
  Bytes out(size);
  ensure(RAND_bytes(out.data(), static_cast<int>(size)) == 1, "RAND_bytes");
  return out;
}

}  // namespace idvault::testing
