#include "vault/account/vault_key_check.h"

#include "common/base64.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr const char* kKind = "vault-key-check";

// What VK wraps for its check: 64 bytes (the hex of a SHA-256) that name the account and
// the generation, so a check cannot be moved to another account or generation.
Bytes check_value(const MasterKey& vault_key, std::string_view account, std::uint64_t generation) {
  const std::string name =
      "idvault vault key check\n" + std::string(account) + "\n" + std::to_string(generation);
  const std::string probe = sha256_hex(bytes_of(name));
  return vault_key.wrap(SecretBytes::from_string(probe));
}

}  // namespace

std::string vault_key_check_id(std::uint64_t generation) {
  return "vault-key." + std::to_string(generation);
}

std::string sign_vault_key_check(const MasterKey& vault_key, std::string_view account,
                                 std::uint64_t generation, const SigningKey& device_key) {
  const nlohmann::json statement = {
      {"v", 1},
      {"kind", kKind},
      {"account", std::string(account)},
      {"vk_generation", generation},
      {"check", base64_encode(check_value(vault_key, account, generation))}};
  return AccountLog::sign_es256(statement, device_key);
}

void verify_vault_key_check(ByteView check, const MasterKey& vault_key, const AccountState& state) {
  SignedStatement signed_check;
  try {
    signed_check = read_signed_statement(nlohmann::json::parse(check.begin(), check.end()), "ES256",
                                         "vault_key_check");
  } catch (const std::exception& error) {
    throw VaultKeyCheckError(std::string("the check is malformed: ") + error.what());
  }
  const nlohmann::json& s = signed_check.statement;
  const auto text = [&](const char* name) {
    return s.contains(name) && s[name].is_string() ? s[name].get<std::string>() : std::string();
  };
  if (text("kind") != kKind || text("account") != state.account_id ||
      !s.contains("vk_generation") || !s["vk_generation"].is_number_unsigned() ||
      s["vk_generation"].get<std::uint64_t>() != state.vk_generation) {
    throw VaultKeyCheckError("the check is for another account or key generation");
  }
  if (state.device_with_identity_key(signed_check.public_key_spki_der) == nullptr)
    throw VaultKeyCheckError("the check is signed by no enrolled device");
  if (!verify_es256(signed_check.public_key_spki_der, bytes_of(canonical_bytes(s)),
                    signed_check.signature)) {
    throw VaultKeyCheckError("the check's signature is invalid");
  }
  if (text("check") !=
      base64_encode(check_value(vault_key, state.account_id, state.vk_generation))) {
    throw VaultKeyCheckError("the key in the slot is another key than the one checked");
  }
}

}  // namespace idvault::vault
