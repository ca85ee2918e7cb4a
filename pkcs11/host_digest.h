// SHA-256 on the host, for mechanisms that sign a hash (CKM_ECDSA, CKM_RSA_PKCS_PSS).
#pragma once

#include <array>
#include <cstdint>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

[[nodiscard]] std::array<std::uint8_t, 32> sha256(ByteView data);

}  // namespace idvault::p11
