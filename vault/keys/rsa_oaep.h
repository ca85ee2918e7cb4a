// RSA-OAEP with SHA-1 and MGF1-SHA-1 on the host: with the public key, what a holder
// does to send a secret to a service (Telegram Passport's credentials secret) and to
// seal the vault key to a card or a slot; with a private key in this process, opening
// such a seal (a software service key, the opened recovery key's slot).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/openssl_owners.h"
#include "common/secret_bytes.h"

namespace idvault::vault {

// Throws FormatError("public_key", ...) unless pem is an RSA SubjectPublicKeyInfo.
[[nodiscard]] openssl::PKey load_rsa_public_key(std::string_view pem);

[[nodiscard]] std::vector<std::uint8_t> rsa_oaep_sha1_encrypt(
    EVP_PKEY* key, std::span<const std::uint8_t> plaintext);
[[nodiscard]] std::vector<std::uint8_t> rsa_oaep_sha1_encrypt(
    std::string_view public_key_pem, std::span<const std::uint8_t> plaintext);

// The plaintext, or nullopt for any failure (wrong key, altered ciphertext), with
// OpenSSL's error queue cleared: each caller says what failed in its own words, and no
// caller can tell one cause from another (no padding oracle).
[[nodiscard]] std::optional<SecretBytes> rsa_oaep_sha1_decrypt(
    EVP_PKEY* key, std::span<const std::uint8_t> ciphertext);

}  // namespace idvault::vault
