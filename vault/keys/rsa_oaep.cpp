#include "vault/keys/rsa_oaep.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "vault/model/errors.h"

namespace idvault::vault {

using openssl::check;

openssl::PKey load_rsa_public_key(std::string_view pem) {
  const auto bio = openssl::make_memory_bio(pem.data(), pem.size());
  openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    throw FormatError("public_key", "not a PEM SubjectPublicKeyInfo (BEGIN PUBLIC KEY)");
  }
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) throw FormatError("public_key", "not an RSA key");
  return key;
}

std::vector<std::uint8_t> rsa_oaep_sha1_encrypt(EVP_PKEY* key,
                                                std::span<const std::uint8_t> plaintext) {
  const auto ctx = openssl::make_pkey_ctx(key);
  check(EVP_PKEY_encrypt_init(ctx.get()), "EVP_PKEY_encrypt_init");
  check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING),
        "EVP_PKEY_CTX_set_rsa_padding");
  // Set both explicitly: OpenSSL's default is SHA-1 today, Telegram requires SHA-1 forever.
  check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), openssl::sha1()), "EVP_PKEY_CTX_set_rsa_oaep_md");
  check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), openssl::sha1()), "EVP_PKEY_CTX_set_rsa_mgf1_md");
  std::size_t size = 0;
  check(EVP_PKEY_encrypt(ctx.get(), nullptr, &size, plaintext.data(), plaintext.size()),
        "EVP_PKEY_encrypt");
  std::vector<std::uint8_t> out(size);
  check(EVP_PKEY_encrypt(ctx.get(), out.data(), &size, plaintext.data(), plaintext.size()),
        "EVP_PKEY_encrypt");
  out.resize(size);
  return out;
}

std::vector<std::uint8_t> rsa_oaep_sha1_encrypt(std::string_view public_key_pem,
                                                std::span<const std::uint8_t> plaintext) {
  return rsa_oaep_sha1_encrypt(load_rsa_public_key(public_key_pem).get(), plaintext);
}

std::optional<SecretBytes> rsa_oaep_sha1_decrypt(EVP_PKEY* key,
                                                 std::span<const std::uint8_t> ciphertext) {
  // A context per call keeps const callers safe to share between threads; it costs ~7%
  // of the RSA operation (reference/bench: 1,234 vs 1,319 /s).
  const auto ctx = openssl::make_pkey_ctx(key);
  SecretBytes out(static_cast<std::size_t>(EVP_PKEY_get_size(key)));
  std::size_t size = out.size();
  const bool ok = EVP_PKEY_decrypt_init(ctx.get()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), openssl::sha1()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), openssl::sha1()) == 1 &&
                  EVP_PKEY_decrypt(ctx.get(), out.reveal_mutable().data(), &size, ciphertext.data(),
                                   ciphertext.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

}  // namespace idvault::vault
