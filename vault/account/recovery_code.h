// The recovery code of a cloud account: the one thing a person keeps on paper, which
// with a fresh token and the server alone brings every document back.
//
// 160 random bits (OpenSSL RAND), printed as 8 groups of 5 characters,
//
//   7KX4Q-M2PZH-0RTD9-...   (8 groups, 40 characters)
//
// in Crockford's base32 (0-9 and A-Z without I, L, O, U: no letter to mistake for a
// digit). Each group is 4 code characters (20 bits) and 1 check character. The check is
// a weighted sum over GF(32) (x^5 + x^2 + 1) of the group's five characters and its
// position, which must come to zero: it catches every single mistyped character, every
// swap of two characters within a group, and every group typed in another group's place,
// and names the group to look at again. A typo that changes two characters of one group
// gets through the group's check 1 time in 32; it then fails as a wrong code.
//
// Typing back: case does not matter, spaces and hyphens may go anywhere (or nowhere),
// and O, I and L are read as 0, 1 and 1, as Crockford's base32 does.
//
// 160 bits, not 128: the server keeps the recovery private key under this code and could
// guess offline without limit, so the code itself, not Argon2id, must be out of reach.
#pragma once

#include <string_view>

#include "common/secret_bytes.h"
#include "vault/account/vault_key.h"
#include "vault/keys/recovery_key.h"

namespace idvault::vault {

inline constexpr std::size_t kRecoveryCodeBytes = 20;  // 160 bits
inline constexpr std::size_t kRecoveryCodeGroups = 8;
inline constexpr std::size_t kRecoveryCodeGroupLength = 5;  // 4 code characters, 1 check

// Move-only, as the SecretBytes it holds: a code that silently multiplies is one that leaks.
class RecoveryCode {
 public:
  [[nodiscard]] static RecoveryCode generate();
  // FormatError("recovery_code", ...) naming the groups with a typing mistake, or
  // saying what else is wrong (length, a character that is not in the alphabet).
  // Never quotes what was typed.
  [[nodiscard]] static RecoveryCode parse(std::string_view typed);
  // For tests and for a code read back from storage: exactly kRecoveryCodeBytes.
  [[nodiscard]] static RecoveryCode from_bytes(const SecretBytes& bits);

  // "XXXXX-XXXXX-...": what to print, once, for the person to write down.
  [[nodiscard]] SecretBytes printed() const;
  [[nodiscard]] const SecretBytes& bits() const noexcept { return bits_; }

 private:
  explicit RecoveryCode(SecretBytes bits) : bits_(std::move(bits)) {}
  SecretBytes bits_;
};

// The account's recovery key pair (RSA-3072), its private half encrypted under
// Argon2id(code's printed form, salt): the same envelope, KDF and AES-256-GCM as the
// local recovery key (vault/keys/recovery_key.h), bound to the identity key of the
// device that made it.
[[nodiscard]] RecoveryEnvelope seal_recovery_key_under_code(const RecoveryCode& code,
                                                            const SigningKey& identity_key,
                                                            RecoveryKdfParams params = {});
// DecryptError("wrong recovery code") when code is not the one the envelope was sealed
// under (or the envelope was altered).
[[nodiscard]] RecoveryOpener open_recovery_key_with_code(const RecoveryEnvelope& envelope,
                                                         const RecoveryCode& code);

// VK from the account's recovery slot (sealed by VaultKey::seal_to to the recovery public
// key), opened with the recovery key: what a recovery without any old device seals again
// to the new device's slot key. SlotError when the slot does not open with this key.
[[nodiscard]] MemoryVaultKey open_recovery_slot(const RecoveryOpener& recovery_key,
                                                ByteView sealed);

}  // namespace idvault::vault
