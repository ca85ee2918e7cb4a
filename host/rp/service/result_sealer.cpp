#include "host/rp/service/result_sealer.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include "common/openssl_owners.h"
#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

constexpr std::uint8_t kFormat = 0x01;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kOverhead = 1 + kIvBytes + kTagBytes;

// "idvault-rp sealed result v1" NUL nonce NUL part: a part opens only as itself, in its
// own result.
std::string additional_data(const std::string& nonce, std::string_view part) {
  std::string aad = "idvault-rp sealed result v1";
  aad.push_back('\0');
  aad += nonce;
  aad.push_back('\0');
  aad += part;
  return aad;
}

const unsigned char* bytes_of(const std::string& text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

std::string report_part() {
  return "report";
}
std::string errors_part() {
  return "errors";
}
std::string file_part(std::string_view file_id) {
  return "file/" + std::string(file_id);
}

ResultSealer::Sealing ResultSealer::seal_result(std::string nonce) const {
  SecretBytes key(kKeyBytes);
  openssl::check(RAND_priv_bytes(key.reveal_mutable().data(), static_cast<int>(kKeyBytes)),
                 "RAND_priv_bytes");
  vault::Bytes wrapped = seal_key_.wrap(key);
  return Sealing(std::move(nonce), std::move(key), std::move(wrapped));
}

ResultSealer::Opening ResultSealer::open_result(std::string nonce,
                                                vault::ByteView wrapped_key) const {
  SecretBytes key;
  try {
    key = seal_key_.unwrap(wrapped_key);
  } catch (const vault::DecryptError&) {
    throw SealedDataDamaged(
        "the stored result's data key does not unwrap under the seal key: "
        "the row was altered, or sealed under another seal key");
  }
  if (key.size() != kKeyBytes)
    throw SealedDataDamaged("the stored result's data key has the wrong length");
  return Opening(std::move(nonce), std::move(key));
}

vault::Bytes ResultSealer::Sealing::seal(std::string_view part, vault::ByteView plaintext) const {
  const std::string aad = additional_data(nonce_, part);
  vault::Bytes out(kOverhead + plaintext.size());
  out[0] = kFormat;
  unsigned char* iv = out.data() + 1;
  unsigned char* ciphertext = iv + kIvBytes;
  unsigned char* tag = ciphertext + plaintext.size();
  openssl::check(RAND_bytes(iv, static_cast<int>(kIvBytes)), "RAND_bytes");
  auto ctx = openssl::make_cipher_ctx();
  openssl::check(
      EVP_EncryptInit_ex2(ctx.get(), openssl::aes_256_gcm(), key_.reveal().data(), iv, nullptr),
      "EVP_EncryptInit_ex2");
  int written = 0;
  openssl::check(
      EVP_EncryptUpdate(ctx.get(), nullptr, &written, bytes_of(aad), static_cast<int>(aad.size())),
      "EVP_EncryptUpdate");
  if (!plaintext.empty()) {
    openssl::check(EVP_EncryptUpdate(ctx.get(), ciphertext, &written, plaintext.data(),
                                     static_cast<int>(plaintext.size())),
                   "EVP_EncryptUpdate");
  }
  int final_written = 0;
  openssl::check(EVP_EncryptFinal_ex(ctx.get(), tag, &final_written), "EVP_EncryptFinal_ex");
  openssl::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag),
                 "EVP_CTRL_GCM_GET_TAG");
  return out;
}

SecretBytes ResultSealer::Opening::open(std::string_view part, vault::ByteView sealed) const {
  if (sealed.size() < kOverhead || sealed[0] != kFormat)
    throw SealedDataDamaged("a stored " + std::string(part) + " is truncated or not sealed");
  const std::string aad = additional_data(nonce_, part);
  const std::size_t size = sealed.size() - kOverhead;
  const unsigned char* iv = sealed.data() + 1;
  const unsigned char* ciphertext = iv + kIvBytes;
  unsigned char tag[kTagBytes];
  std::copy(ciphertext + size, ciphertext + size + kTagBytes, tag);
  SecretBytes out(size);
  auto ctx = openssl::make_cipher_ctx();
  int written = 0;
  int final_written = 0;
  const bool ok =
      EVP_DecryptInit_ex2(ctx.get(), openssl::aes_256_gcm(), key_.reveal().data(), iv, nullptr) ==
          1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &written, bytes_of(aad),
                        static_cast<int>(aad.size())) == 1 &&
      (size == 0 || EVP_DecryptUpdate(ctx.get(), out.reveal_mutable().data(), &written, ciphertext,
                                      static_cast<int>(size)) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.reveal_mutable().data() + size, &final_written) == 1;
  if (!ok) {
    ERR_clear_error();
    out.clear();
    throw SealedDataDamaged("a stored " + std::string(part) +
                            " does not open: altered, or moved from another part or result");
  }
  return out;
}

}  // namespace idvault::rp
