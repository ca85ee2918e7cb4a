// The errors a service finds in a share by itself, before any person looks at it: data a
// Telegram client would not have let through (a field that breaks Telegram's rules), an
// identity document past its expiry date, a file the holder did not send. Each becomes a
// PassportElementError naming exactly what arrived, so the holder's fix-and-resend loop
// starts at once.
#pragma once

#include <cstdint>
#include <vector>

#include "vault/model/element_error.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::rp {

// now: Unix seconds; a document expires at the end of its expiry day (UTC).
[[nodiscard]] std::vector<vault::PassportElementError> automatic_errors(
    const vault::DecryptedPassport& share, std::int64_t now);

}  // namespace idvault::rp
