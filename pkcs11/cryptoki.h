// The one include of the Cryptoki C header for the whole layer, plus the few names
// p11-kit's copy of it lacks.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <span>
#include <vector>

// PKCS#11 2.40 name; SoftHSM 2.6.1 offers it, p11-kit 0.24's header does not define it.
#ifndef CKM_AES_KEY_WRAP_PAD
#define CKM_AES_KEY_WRAP_PAD 0x210AUL
#endif

namespace idvault::p11 {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

}  // namespace idvault::p11
