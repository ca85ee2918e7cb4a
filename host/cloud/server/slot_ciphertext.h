// The one shape a key slot's bytes may have: VK sealed with RSA-OAEP to the slot's key
// (design.md, "Slots"), a ciphertext exactly as long as that key's modulus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace idvault::cloud {

// The modulus length in bytes of an RSA public key (SPKI DER, as the verified account log
// holds it); 0 for anything else, so no body matches.
[[nodiscard]] std::size_t slot_ciphertext_size(const std::vector<std::uint8_t>& spki_der);

}  // namespace idvault::cloud
