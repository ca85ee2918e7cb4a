// CardKey: one private key held by the simulated card, and the operations PIV's
// GENERAL AUTHENTICATE performs with it (SP 800-73-4 Part 2 §3.2.4):
// raw RSA private operation, ECDSA over a digest the host computed, and ECDH.
#pragma once

#include <cstdint>
#include <string_view>

#include "firmware-sim/bytes.h"
#include "firmware-sim/errors.h"
#include "firmware-sim/openssl_owners.h"
#include "firmware-sim/wiped_bytes.h"

namespace idvault::cardsim {

// Cryptographic algorithm identifiers (SP 800-78-4 Table 6-2), as GENERAL AUTHENTICATE's P1.
enum class PivAlgorithm : std::uint8_t {
  rsa1024 = 0x06,
  rsa2048 = 0x07,
  rsa3072 = 0x05,
  ecc_p256 = 0x11,
  ecc_p384 = 0x14,
};

// The command data was wrong for this key (bad length, value out of range, point not on
// the curve): the card answers 6A80 rather than 6F00.
class CardInputError : public CardsimError {
 public:
  using CardsimError::CardsimError;
};

class CardKey {
 public:
  [[nodiscard]] static CardKey generate_ec(std::string_view group_name);  // "P-256", "P-384"
  [[nodiscard]] static CardKey generate_rsa(unsigned bits);               // 1024, 2048, 3072
  [[nodiscard]] static CardKey from_private_pem(const WipedBytes& pem);

  [[nodiscard]] WipedBytes private_pem() const;
  [[nodiscard]] Bytes public_key_spki_der() const;
  [[nodiscard]] PivAlgorithm algorithm() const { return algorithm_; }
  [[nodiscard]] bool is_rsa() const;
  // Modulus size (RSA) or field size (EC) in bytes.
  [[nodiscard]] std::size_t size_bytes() const { return size_bytes_; }

  // A self-signed X.509 v3 certificate for this key (SHA-256), DER.
  [[nodiscard]] Bytes self_signed_certificate_der(std::string_view common_name) const;

  // m = c^d mod n. `input` must be exactly size_bytes() long and below the modulus.
  [[nodiscard]] Bytes rsa_raw_private(ByteView input) const;
  // DER ECDSA-Sig-Value over `digest` (1..size_bytes() bytes, already hashed by the host).
  [[nodiscard]] Bytes ecdsa_sign_digest(ByteView digest) const;
  // X coordinate of d * peer, `peer_point` uncompressed (04 || X || Y) on this key's curve.
  [[nodiscard]] Bytes ecdh_shared_x(ByteView peer_point) const;

  [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit CardKey(PkeyOwner key);
  PkeyOwner key_;
  PivAlgorithm algorithm_;
  std::size_t size_bytes_;
};

// Lets tests and tools read public keys back from what the card hands out.
[[nodiscard]] PkeyOwner public_key_from_certificate_der(ByteView der);

}  // namespace idvault::cardsim
