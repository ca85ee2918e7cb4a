// OpenSSL on the host, for tests that check what a token produced: encrypt to a token's
// public key, verify its signatures. Any OpenSSL failure throws std::runtime_error.
#pragma once

#include <string>

#include "common/openssl_owners.h"
#include "pkcs11/cryptoki.h"

namespace idvault::testing {

using p11::Bytes;
using p11::ByteView;

[[nodiscard]] openssl::PKey load_public_pem(const std::string& pem);
[[nodiscard]] openssl::PKey load_public_der(ByteView spki_der);
[[nodiscard]] openssl::PKey generate_rsa_host_key(unsigned bits);

// RSA-OAEP with SHA-1/MGF1-SHA-1 (Telegram Passport's), or SHA-256/MGF1-SHA-256.
[[nodiscard]] Bytes oaep_encrypt(EVP_PKEY& key, ByteView plaintext, bool sha256 = false);
[[nodiscard]] bool verify_ecdsa_sha256_der(EVP_PKEY& key, ByteView message, ByteView der_signature);
[[nodiscard]] bool verify_pss_sha256(EVP_PKEY& key, ByteView message, ByteView signature);
[[nodiscard]] Bytes random_bytes(std::size_t size);

}  // namespace idvault::testing
