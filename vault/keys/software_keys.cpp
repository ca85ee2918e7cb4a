#include "vault/keys/software_keys.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/mman.h>

#include <array>
#include <limits>

#include "common/pem.h"
#include "vault/keys/rsa_oaep.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using openssl::check;

openssl::PKey read_private_key(const SecretBytes& pem, std::string_view where) {
  const auto bio = openssl::make_memory_bio(pem.reveal().data(), pem.size());
  openssl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    throw FormatError(std::string(where), "not an unencrypted PEM private key");
  }
  return key;
}

// Secure-memory BIO: OpenSSL clears its buffer when it is freed, so the PEM of a
// private key leaves no copy behind in the heap.
SecretBytes private_pem(EVP_PKEY* key) {
  openssl::Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio) throw openssl::OpenSslError("BIO_new(BIO_s_secmem)");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes(
      std::span(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)));
}

openssl::PKey generate_key(const char* type, const char* parameter, std::size_t bits) {
  openssl::PKey key(parameter != nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, parameter)
                                         : EVP_PKEY_Q_keygen(nullptr, nullptr, type, bits));
  if (!key) throw openssl::OpenSslError("EVP_PKEY_Q_keygen");
  return key;
}

}  // namespace

// ---- SoftwareServiceKey ----------------------------------------------------------------

SoftwareServiceKey SoftwareServiceKey::from_pem(const SecretBytes& pem) {
  auto key = read_private_key(pem, "private_key");
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) throw FormatError("private_key", "not an RSA key");
  if (EVP_PKEY_get_bits(key.get()) < 1024)
    throw FormatError("private_key", "RSA key under 1024 bits");
  return SoftwareServiceKey(std::move(key));
}

SoftwareServiceKey SoftwareServiceKey::generate(int bits) {
  if (bits < 1024) throw std::invalid_argument("SoftwareServiceKey::generate: under 1024 bits");
  return SoftwareServiceKey(generate_key("RSA", nullptr, static_cast<std::size_t>(bits)));
}

SecretBytes SoftwareServiceKey::decrypt_oaep_sha1(ByteView ciphertext) const {
  auto plaintext = rsa_oaep_sha1_decrypt(key_.get(), ciphertext);
  if (!plaintext) throw DecryptError();
  return std::move(*plaintext);
}

std::string SoftwareServiceKey::public_key_pem() const {
  return public_key_pem_of(*key_);
}

SecretBytes SoftwareServiceKey::private_key_pem() const {
  return private_pem(key_.get());
}

// ---- SoftwareSigningKey ----------------------------------------------------------------

SoftwareSigningKey SoftwareSigningKey::generate() {
  return SoftwareSigningKey(generate_key("EC", "P-256", 0));
}

SoftwareSigningKey SoftwareSigningKey::from_pem(const SecretBytes& pem) {
  auto key = read_private_key(pem, "private_key");
  if (!openssl::is_ec_p256(key.get())) throw FormatError("private_key", "not an EC P-256 key");
  return SoftwareSigningKey(std::move(key));
}

Bytes SoftwareSigningKey::sign_es256(ByteView message) const {
  const auto ctx = openssl::make_digest_ctx();
  check(
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA2-256", nullptr, nullptr, key_.get(), nullptr),
      "EVP_DigestSignInit_ex");
  std::size_t size = 0;
  check(EVP_DigestSign(ctx.get(), nullptr, &size, message.data(), message.size()),
        "EVP_DigestSign");
  Bytes der(size);
  check(EVP_DigestSign(ctx.get(), der.data(), &size, message.data(), message.size()),
        "EVP_DigestSign");
  const unsigned char* cursor = der.data();
  const openssl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(size)));
  if (!sig) throw openssl::OpenSslError("d2i_ECDSA_SIG");
  // JOSE wants r || s, each left-padded to the curve size, not DER.
  Bytes out(64);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32) != 32) {
    throw openssl::OpenSslError("BN_bn2binpad");
  }
  return out;
}

Bytes SoftwareSigningKey::public_key_spki_der() const {
  return spki_der_of(*key_);
}

SecretBytes SoftwareSigningKey::private_key_pem() const {
  return private_pem(key_.get());
}

// ---- SoftwareMasterKey -----------------------------------------------------------------

SoftwareMasterKey::SoftwareMasterKey(SecretBytes key) : key_(std::move(key)) {
  // The vector's buffer never moves (the key is never resized), so the locked range stays
  // the key's own until the destructor unlocks it, before the allocator wipes it.
  locked_ = !key_.empty() && ::mlock(key_.reveal().data(), key_.size()) == 0;
}

SoftwareMasterKey::~SoftwareMasterKey() {
  if (locked_) ::munlock(key_.reveal().data(), key_.size());
}

SoftwareMasterKey SoftwareMasterKey::generate() {
  SecretBytes key(32);
  check(RAND_bytes(key.reveal_mutable().data(), 32), "RAND_bytes");
  return SoftwareMasterKey(std::move(key));
}

SoftwareMasterKey SoftwareMasterKey::from_bytes(SecretBytes key) {
  if (key.size() != 32) throw FormatError("master_key", "an AES-256 key must be 32 bytes");
  return SoftwareMasterKey(std::move(key));
}

Bytes SoftwareMasterKey::wrap(const SecretBytes& secret) const {
  if (secret.empty() ||
      secret.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) - 16) {
    throw std::invalid_argument("SoftwareMasterKey::wrap: secret must be 1 byte to 2 GiB");
  }
  const auto ctx = openssl::make_cipher_ctx();
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  check(EVP_EncryptInit_ex2(ctx.get(), openssl::aes_256_wrap_pad(), key_.reveal().data(), nullptr,
                            nullptr),
        "EVP_EncryptInit_ex2");
  Bytes out(secret.size() + 16);  // RFC 5649: padded to 8, plus the 8-byte integrity block
  int written = 0;
  int final_written = 0;
  check(EVP_EncryptUpdate(ctx.get(), out.data(), &written, secret.reveal().data(),
                          static_cast<int>(secret.size())),
        "EVP_EncryptUpdate");
  check(EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &final_written),
        "EVP_EncryptFinal_ex");
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

SecretBytes SoftwareMasterKey::unwrap(ByteView wrapped) const {
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0 ||
      wrapped.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DecryptError();
  }
  const auto ctx = openssl::make_cipher_ctx();
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  check(EVP_DecryptInit_ex2(ctx.get(), openssl::aes_256_wrap_pad(), key_.reveal().data(), nullptr,
                            nullptr),
        "EVP_DecryptInit_ex2");
  SecretBytes out(wrapped.size());
  int written = 0;
  int final_written = 0;
  if (EVP_DecryptUpdate(ctx.get(), out.reveal_mutable().data(), &written, wrapped.data(),
                        static_cast<int>(wrapped.size())) != 1 ||
      written <= 0 ||
      EVP_DecryptFinal_ex(ctx.get(), out.reveal_mutable().data() + written, &final_written) != 1) {
    ERR_clear_error();
    throw DecryptError();
  }
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

Bytes SoftwareMasterKey::seal_oaep_sha1(EVP_PKEY* public_key) const {
  return rsa_oaep_sha1_encrypt(public_key, key_.reveal());
}

}  // namespace idvault::vault
