#include "common/openssl_owners.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <array>
#include <string_view>

namespace idvault::openssl {
namespace {

Digest fetch_digest(const char* name) {
  Digest md(EVP_MD_fetch(nullptr, name, nullptr));
  if (!md) throw OpenSslError(std::string("EVP_MD_fetch(") + name + ")");
  return md;
}

Cipher fetch_cipher(const char* name) {
  Cipher cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!cipher) throw OpenSslError(std::string("EVP_CIPHER_fetch(") + name + ")");
  return cipher;
}

}  // namespace

void BufferFree::operator()(unsigned char* bytes) const noexcept {
  OPENSSL_free(bytes);
}

bool is_ec_p256(const EVP_PKEY* key) noexcept {
  std::array<char, 64> group{};
  std::size_t group_size = 0;
  const bool p256 = key != nullptr && EVP_PKEY_is_a(key, "EC") == 1 &&
                    EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_size) == 1 &&
                    std::string_view(group.data(), group_size) == SN_X9_62_prime256v1;
  ERR_clear_error();
  return p256;
}

OpenSslError::OpenSslError(const std::string& function)
    : std::runtime_error("OpenSSL: " + function + " failed") {
  ERR_clear_error();
}

CipherCtx make_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw OpenSslError("EVP_CIPHER_CTX_new");
  return ctx;
}

DigestCtx make_digest_ctx() {
  DigestCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw OpenSslError("EVP_MD_CTX_new");
  return ctx;
}

PKeyCtx make_pkey_ctx(EVP_PKEY* key) {
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx) throw OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  return ctx;
}

Bio make_memory_bio(const void* data, std::size_t size) {
  Bio bio(BIO_new_mem_buf(data, static_cast<int>(size)));
  if (!bio) throw OpenSslError("BIO_new_mem_buf");
  return bio;
}

Bio make_memory_bio() {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) throw OpenSslError("BIO_new");
  return bio;
}

const EVP_MD* sha1() {
  static const Digest md = fetch_digest("SHA1");
  return md.get();
}

const EVP_MD* sha256() {
  static const Digest md = fetch_digest("SHA2-256");
  return md.get();
}

const EVP_MD* sha512() {
  static const Digest md = fetch_digest("SHA2-512");
  return md.get();
}

const EVP_CIPHER* aes_256_cbc() {
  static const Cipher cipher = fetch_cipher("AES-256-CBC");
  return cipher.get();
}

const EVP_CIPHER* aes_256_wrap_pad() {
  static const Cipher cipher = fetch_cipher("AES-256-WRAP-PAD");
  return cipher.get();
}

const EVP_CIPHER* aes_256_gcm() {
  static const Cipher cipher = fetch_cipher("AES-256-GCM");
  return cipher.get();
}

void check(int result, const char* function) {
  if (result != 1) throw OpenSslError(function);
}

}  // namespace idvault::openssl
