// Random bytes from the token's generator (C_GenerateRandom).
#pragma once

#include <cstddef>

#include "common/secret_bytes.h"

namespace idvault::p11 {

class Token;

// Throws UnsupportedMechanism if the token has no RNG (no CKF_RNG), else Pkcs11Error.
[[nodiscard]] SecretBytes generate_random(Token& token, std::size_t size);

}  // namespace idvault::p11
