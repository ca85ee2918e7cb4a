#include "vault/account/join_code.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdio>

#include "common/hex.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

Bytes hex_bytes(std::string_view hex, const char* field, std::size_t min_bytes,
                std::size_t max_bytes) {
  if (hex.size() % 2 != 0 || hex.size() < 2 * min_bytes || hex.size() > 2 * max_bytes)
    throw FormatError(field, "must be " + std::to_string(2 * min_bytes) + " to " +
                                 std::to_string(2 * max_bytes) + " lowercase hex digits");
  Bytes bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_digit_value(hex[i]);
    const int low = hex_digit_value(hex[i + 1]);
    // Lowercase only: the same nonce in two spellings must not make two strings.
    if (high < 0 || low < 0 || (hex[i] >= 'A' && hex[i] <= 'F') ||
        (hex[i + 1] >= 'A' && hex[i + 1] <= 'F'))
      throw FormatError(field, "must be lowercase hex");
    bytes.push_back(static_cast<std::uint8_t>(high * 16 + low));
  }
  return bytes;
}

}  // namespace

std::string join_code(std::string_view account_id, ByteView identity_key_spki_der,
                      ByteView slot_key_spki_der, std::string_view nonce_hex) {
  const Bytes genesis_hash = hex_bytes(account_id, "account", 32, 32);
  const Bytes nonce = hex_bytes(nonce_hex, "nonce", kJoinNonceBytes, 2 * kJoinNonceBytes);
  openssl::DigestCtx ctx(EVP_MD_CTX_new());
  openssl::check(ctx ? 1 : 0, "EVP_MD_CTX_new");
  openssl::check(EVP_DigestInit_ex(ctx.get(), openssl::sha256(), nullptr), "EVP_DigestInit_ex");
  for (ByteView part :
       {ByteView(genesis_hash), identity_key_spki_der, slot_key_spki_der, ByteView(nonce)}) {
    openssl::check(EVP_DigestUpdate(ctx.get(), part.data(), part.size()), "EVP_DigestUpdate");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  openssl::check(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size), "EVP_DigestFinal_ex");
  std::uint64_t number = 0;
  for (std::size_t i = 0; i < 5; ++i) number = (number << 8) | digest[i];
  number %= 100000000U;
  char text[10];
  std::snprintf(text, sizeof text, "%04u-%04u", static_cast<unsigned>(number / 10000),
                static_cast<unsigned>(number % 10000));
  return text;
}

std::string new_join_nonce() {
  std::array<unsigned char, kJoinNonceBytes> nonce{};
  openssl::check(RAND_bytes(nonce.data(), static_cast<int>(nonce.size())), "RAND_bytes");
  return hex_lower(nonce);
}

}  // namespace idvault::vault
