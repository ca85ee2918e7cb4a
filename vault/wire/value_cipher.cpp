#include "vault/wire/value_cipher.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

using openssl::check;

// key (32) || iv (16) || unused (16): the SHA-512 of secret || hash. Wiped on scope exit.
struct DerivedKey {
  std::array<std::uint8_t, 64> bytes{};
  DerivedKey() = default;
  DerivedKey(const DerivedKey&) = delete;
  DerivedKey& operator=(const DerivedKey&) = delete;
  ~DerivedKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  [[nodiscard]] const std::uint8_t* key() const { return bytes.data(); }
  [[nodiscard]] const std::uint8_t* iv() const { return bytes.data() + 32; }
};

void derive(EVP_MD_CTX* sha512, const ValueSecret& secret, std::span<const std::uint8_t> hash,
            DerivedKey& out) {
  unsigned size = 0;
  check(EVP_DigestInit_ex2(sha512, openssl::sha512(), nullptr), "EVP_DigestInit_ex2");
  check(EVP_DigestUpdate(sha512, secret.reveal().data(), secret.reveal().size()),
        "EVP_DigestUpdate");
  check(EVP_DigestUpdate(sha512, hash.data(), hash.size()), "EVP_DigestUpdate");
  check(EVP_DigestFinal_ex(sha512, out.bytes.data(), &size), "EVP_DigestFinal_ex");
}

std::size_t smallest_padding(std::size_t plaintext_size) noexcept {
  return kMinPadding + (16 - (kMinPadding + plaintext_size) % 16) % 16;
}

// Decrypting and hashing in slices that stay in cache, rather than in two passes over
// the whole file, saves a trip through memory for multi-megabyte scans.
constexpr std::size_t kSlice = 32 * 1024;

}  // namespace

bool is_valid_padding(std::size_t padding, std::size_t plaintext_size) noexcept {
  return padding >= kMinPadding && padding <= kMaxPadding && (padding + plaintext_size) % 16 == 0;
}

std::size_t random_padding(std::size_t plaintext_size) {
  const std::size_t first = smallest_padding(plaintext_size);
  const std::uint32_t choices = static_cast<std::uint32_t>((kMaxPadding - first) / 16 + 1);
  // Rejection sampling, so no length is favoured by the modulo.
  const std::uint32_t limit = std::numeric_limits<std::uint32_t>::max() -
                              std::numeric_limits<std::uint32_t>::max() % choices;
  std::uint32_t draw = 0;
  do {
    check(RAND_bytes(reinterpret_cast<unsigned char*>(&draw), sizeof draw), "RAND_bytes");
  } while (draw >= limit);
  return first + 16 * (draw % choices);
}

EncryptedValue encrypt_value(std::span<const std::uint8_t> plaintext, const ValueSecret& secret) {
  return encrypt_value(plaintext, secret, random_padding(plaintext.size()));
}

namespace {
template <typename Bytes>
std::vector<std::uint8_t> encrypt_padded(std::span<const std::uint8_t> plaintext,
                                         const ValueSecret& secret, std::size_t padding,
                                         Bytes& ciphertext);
}  // namespace

EncryptedValue encrypt_value(std::span<const std::uint8_t> plaintext, const ValueSecret& secret,
                             std::size_t padding) {
  EncryptedValue out;
  out.hash = encrypt_padded(plaintext, secret, padding, out.ciphertext);
  return out;
}

std::vector<std::uint8_t> encrypt_value_into(std::span<const std::uint8_t> plaintext,
                                             const ValueSecret& secret,
                                             PageAlignedBytes& ciphertext) {
  return encrypt_padded(plaintext, secret, random_padding(plaintext.size()), ciphertext);
}

namespace {
template <typename Bytes>
std::vector<std::uint8_t> encrypt_padded(std::span<const std::uint8_t> plaintext,
                                         const ValueSecret& secret, std::size_t padding,
                                         Bytes& ciphertext) {
  if (!is_valid_padding(padding, plaintext.size())) {
    throw std::invalid_argument("encrypt_value: padding must be 32..255 and align the value to 16");
  }
  if (plaintext.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) - padding) {
    throw std::invalid_argument("encrypt_value: value too large");
  }
  // X = P || V is never assembled: hashing and encrypting P, then V, saves copying a
  // multi-megabyte scan (OpenSSL carries the partial block between the two updates).
  std::array<std::uint8_t, kMaxPadding> pad{};
  check(RAND_bytes(pad.data(), static_cast<int>(padding)), "RAND_bytes");
  pad[0] = static_cast<std::uint8_t>(padding);
  struct WipePad {
    std::array<std::uint8_t, kMaxPadding>& bytes;
    ~WipePad() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  } wipe_pad{pad};

  std::vector<std::uint8_t> hash(kValueHashSize);
  unsigned hash_size = 0;
  const auto sha256 = openssl::make_digest_ctx();
  check(EVP_DigestInit_ex2(sha256.get(), openssl::sha256(), nullptr), "EVP_DigestInit_ex2");
  check(EVP_DigestUpdate(sha256.get(), pad.data(), padding), "EVP_DigestUpdate");
  check(EVP_DigestUpdate(sha256.get(), plaintext.data(), plaintext.size()), "EVP_DigestUpdate");
  check(EVP_DigestFinal_ex(sha256.get(), hash.data(), &hash_size), "EVP_DigestFinal_ex");

  DerivedKey derived;
  const auto sha512 = openssl::make_digest_ctx();
  derive(sha512.get(), secret, hash, derived);

  const auto aes = openssl::make_cipher_ctx();
  check(
      EVP_EncryptInit_ex2(aes.get(), openssl::aes_256_cbc(), derived.key(), derived.iv(), nullptr),
      "EVP_EncryptInit_ex2");
  check(EVP_CIPHER_CTX_set_padding(aes.get(), 0), "EVP_CIPHER_CTX_set_padding");
  ciphertext.resize(padding + plaintext.size());
  int pad_written = 0;
  int written = 0;
  int final_written = 0;
  check(EVP_EncryptUpdate(aes.get(), ciphertext.data(), &pad_written, pad.data(),
                          static_cast<int>(padding)),
        "EVP_EncryptUpdate");
  if (!plaintext.empty()) {
    check(EVP_EncryptUpdate(aes.get(), ciphertext.data() + pad_written, &written, plaintext.data(),
                            static_cast<int>(plaintext.size())),
          "EVP_EncryptUpdate");
  }
  check(EVP_EncryptFinal_ex(aes.get(), ciphertext.data() + pad_written + written, &final_written),
        "EVP_EncryptFinal_ex");
  return hash;
}
}  // namespace

ValueDecryptor::ValueDecryptor()
    : aes_(openssl::make_cipher_ctx()),
      sha256_(openssl::make_digest_ctx()),
      sha512_(openssl::make_digest_ctx()) {}

std::span<const std::uint8_t> ValueDecryptor::decrypt_into(std::span<const std::uint8_t> ciphertext,
                                                           std::span<const std::uint8_t> hash,
                                                           const ValueSecret& secret,
                                                           std::span<std::uint8_t> out) {
  if (out.size() < ciphertext.size()) {
    throw std::invalid_argument("ValueDecryptor::decrypt_into: output buffer too small");
  }
  const std::size_t size = ciphertext.size();
  if (size == 0 || size % 16 != 0 || hash.size() != kValueHashSize ||
      size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DecryptError();
  }

  DerivedKey derived;
  derive(sha512_.get(), secret, hash, derived);
  check(
      EVP_DecryptInit_ex2(aes_.get(), openssl::aes_256_cbc(), derived.key(), derived.iv(), nullptr),
      "EVP_DecryptInit_ex2");
  check(EVP_CIPHER_CTX_set_padding(aes_.get(), 0), "EVP_CIPHER_CTX_set_padding");
  check(EVP_DigestInit_ex2(sha256_.get(), openssl::sha256(), nullptr), "EVP_DigestInit_ex2");

  for (std::size_t offset = 0; offset < size; offset += kSlice) {
    const std::size_t slice = std::min(kSlice, size - offset);
    int written = 0;
    check(EVP_DecryptUpdate(aes_.get(), out.data() + offset, &written, ciphertext.data() + offset,
                            static_cast<int>(slice)),
          "EVP_DecryptUpdate");
    check(EVP_DigestUpdate(sha256_.get(), out.data() + offset, slice), "EVP_DigestUpdate");
  }
  int final_written = 0;
  check(EVP_DecryptFinal_ex(aes_.get(), out.data() + size, &final_written), "EVP_DecryptFinal_ex");

  std::array<std::uint8_t, kValueHashSize> computed{};
  unsigned computed_size = 0;
  check(EVP_DigestFinal_ex(sha256_.get(), computed.data(), &computed_size), "EVP_DigestFinal_ex");

  // One branch for every cause, taken after all the work is done, so neither the message
  // nor the timing says whether the hash or the padding was wrong.
  const bool hash_ok = CRYPTO_memcmp(computed.data(), hash.data(), kValueHashSize) == 0;
  const std::size_t padding = out[0];
  if (!hash_ok || padding < kMinPadding || padding > size) {
    OPENSSL_cleanse(out.data(), size);
    throw DecryptError();
  }
  return out.subspan(padding, size - padding);
}

SecretBytes ValueDecryptor::decrypt(std::span<const std::uint8_t> ciphertext,
                                    std::span<const std::uint8_t> hash, const ValueSecret& secret) {
  SecretBytes buffer(ciphertext.size());
  const auto plaintext = decrypt_into(ciphertext, hash, secret, buffer.reveal_mutable());
  return SecretBytes(plaintext);
}

}  // namespace idvault::vault
