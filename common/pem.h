// Public keys between PEM ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo) and DER,
// the two forms keys travel in: PEM in files and on command lines, DER inside signed
// statements and receipts.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/openssl_owners.h"

namespace idvault {

// Reads a "BEGIN PUBLIC KEY" PEM; anything else (a private key, a certificate, junk)
// throws FormatError(where, "not a PEM public key (BEGIN PUBLIC KEY)"). Never asks for a
// passphrase.
[[nodiscard]] openssl::PKey public_key_from_pem(std::string_view pem, std::string_view where);

// The key's SubjectPublicKeyInfo as DER. Throws OpenSslError if libcrypto cannot encode it.
[[nodiscard]] std::vector<std::uint8_t> spki_der_of(const EVP_PKEY& key);

// The key as "BEGIN PUBLIC KEY" PEM. Throws OpenSslError.
[[nodiscard]] std::string public_key_pem_of(const EVP_PKEY& key);

// PEM -> SPKI DER and back. Throw FormatError(where, ...) for what is not a public key.
[[nodiscard]] std::vector<std::uint8_t> spki_der_from_pem(std::string_view pem,
                                                          std::string_view where);
[[nodiscard]] std::string pem_from_spki_der(std::span<const std::uint8_t> spki_der,
                                            std::string_view where);

}  // namespace idvault
