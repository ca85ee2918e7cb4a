#include "common/aes_gcm.h"

#include <openssl/err.h>

#include <algorithm>
#include <stdexcept>

#include "common/openssl_owners.h"

namespace idvault::aes_gcm {

std::vector<std::uint8_t> seal(const SecretBytes& key, std::span<const std::uint8_t> iv,
                               std::span<const std::uint8_t> aad,
                               std::span<const std::uint8_t> plaintext) {
  if (iv.size() != kIvBytes) throw std::invalid_argument("AES-GCM: the IV must be 12 bytes");
  auto ctx = openssl::make_cipher_ctx();
  openssl::check(EVP_EncryptInit_ex2(ctx.get(), openssl::aes_256_gcm(), key.reveal().data(),
                                     iv.data(), nullptr),
                 "EVP_EncryptInit_ex2");
  std::vector<std::uint8_t> out(plaintext.size() + kTagBytes);
  int written = 0;
  if (!aad.empty()) {
    openssl::check(
        EVP_EncryptUpdate(ctx.get(), nullptr, &written, aad.data(), static_cast<int>(aad.size())),
        "EVP_EncryptUpdate");
  }
  // An empty plaintext is not passed: with a null output OpenSSL would take it as AAD.
  if (!plaintext.empty()) {
    openssl::check(EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                                     static_cast<int>(plaintext.size())),
                   "EVP_EncryptUpdate");
  }
  int final_written = 0;
  openssl::check(EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &final_written),
                 "EVP_EncryptFinal_ex");
  openssl::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                     out.data() + plaintext.size()),
                 "EVP_CTRL_GCM_GET_TAG");
  return out;
}

std::optional<SecretBytes> open(const SecretBytes& key, std::span<const std::uint8_t> iv,
                                std::span<const std::uint8_t> aad,
                                std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kTagBytes || iv.size() != kIvBytes) return std::nullopt;
  const std::size_t size = sealed.size() - kTagBytes;
  std::uint8_t tag[kTagBytes];
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(size), sealed.end(), tag);
  SecretBytes out(size);
  auto ctx = openssl::make_cipher_ctx();
  int written = 0;
  int final_written = 0;
  const bool ok =
      EVP_DecryptInit_ex2(ctx.get(), openssl::aes_256_gcm(), key.reveal().data(), iv.data(),
                          nullptr) == 1 &&
      (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &written, aad.data(),
                                        static_cast<int>(aad.size())) == 1) &&
      (size == 0 || EVP_DecryptUpdate(ctx.get(), out.reveal_mutable().data(), &written,
                                      sealed.data(), static_cast<int>(size)) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.reveal_mutable().data() + size, &final_written) == 1;
  if (!ok) {
    ERR_clear_error();
    out.clear();
    return std::nullopt;
  }
  return out;
}

}  // namespace idvault::aes_gcm
