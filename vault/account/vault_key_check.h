// A signed check of the account's vault key VK (design.md, "The cloud"). The server keeps
// key slots it cannot open, but it can seal a key of its own to any device's slot key,
// whose public half it has seen (a join request carries it; the log names it). A device
// that takes VK from a slot someone else sealed (joining, recovering with the code,
// following a rotation) would then put its documents under a key the server knows. So
// the device that makes a VK generation (cloud init, a rotation) signs, with its identity
// key on its token, a check value of that VK, and a device takes VK from a slot only when
// an enrolled device of the verified log signed the check that VK gives.
//
// The check is stored as the item "vault-key.<generation>": a signed statement
//   {"alg": "ES256", "public_key": B64 SPKI, "signature": B64,
//    "signed": {"v": 1, "kind": "vault-key-check", "account": ACCOUNT,
//               "vk_generation": N, "check": B64}}
// where "check" is VK's key wrap with padding (the format VK wraps secrets with) of a
// probe derived from the account id and the generation: deterministic for one VK,
// different for any other key, and telling nothing about VK (a known plaintext under
// AES-256).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vault/account/account_log.h"
#include "vault/keys/keys.h"
#include "vault/model/errors.h"

namespace idvault::vault {

// The check does not vouch for this VK: missing, malformed, for another account or
// generation, signed by no enrolled device, or made with another key.
class VaultKeyCheckError : public std::runtime_error {
 public:
  explicit VaultKeyCheckError(const std::string& reason)
      : std::runtime_error(
            "the vault key sealed to this device is not one the account's "
            "devices vouch for (" +
            reason + "): refused, nothing was changed") {}
};

// The item id of generation's check: "vault-key.<generation>".
[[nodiscard]] std::string vault_key_check_id(std::uint64_t generation);

// The check for vault_key at generation of account, signed by device_key.
[[nodiscard]] std::string sign_vault_key_check(const MasterKey& vault_key, std::string_view account,
                                               std::uint64_t generation,
                                               const SigningKey& device_key);

// Throws VaultKeyCheckError unless check is a statement for account and state's current
// VK generation, signed by a device enrolled in state, whose check value vault_key gives.
void verify_vault_key_check(ByteView check, const MasterKey& vault_key, const AccountState& state);

}  // namespace idvault::vault
