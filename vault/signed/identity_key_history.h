// The identity keys a vault had before it was recovered onto a new token. Recovery
// makes a new identity key; receipts signed by the old one stay in the log and must
// still verify against a key the holder's token vouches for. The history is a signed
// statement by the current identity key, {"v":1,"kind":"identity key history","keys":
// [B64 SPKI...]}, written at recovery, where the previous key comes from the recovery
// envelope (authenticated by the recovery password, vault/recovery_key.h).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "vault/keys/keys.h"

namespace idvault::vault {

// The statement listing earlier_keys, signed by the vault's current identity key.
[[nodiscard]] nlohmann::ordered_json sign_identity_key_history(
    const std::vector<Bytes>& earlier_keys, const SigningKey& current_key);

// The earlier keys the history lists, if it is signed by current_key_spki_der; empty
// otherwise (missing, altered, or signed by another key). Never throws.
[[nodiscard]] std::vector<Bytes> earlier_identity_keys(const nlohmann::json& history,
                                                       ByteView current_key_spki_der) noexcept;

}  // namespace idvault::vault
