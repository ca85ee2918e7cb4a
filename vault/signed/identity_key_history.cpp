#include "vault/signed/identity_key_history.h"

#include "common/base64.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr const char* kKind = "identity key history";

}  // namespace

nlohmann::ordered_json sign_identity_key_history(const std::vector<Bytes>& earlier_keys,
                                                 const SigningKey& current_key) {
  nlohmann::json keys = nlohmann::json::array();
  for (const Bytes& key : earlier_keys) keys.push_back(base64_encode(key));
  const std::string canonical = canonical_bytes({{"v", 1}, {"kind", kKind}, {"keys", keys}});
  return write_signed_statement("ES256", current_key.public_key_spki_der(), canonical,
                                current_key.sign_es256(bytes_of(canonical)));
}

std::vector<Bytes> earlier_identity_keys(const nlohmann::json& history,
                                         ByteView current_key_spki_der) noexcept {
  try {
    SignedStatement statement = read_signed_statement(history, "ES256", "identity_key_history");
    if (!std::equal(statement.public_key_spki_der.begin(), statement.public_key_spki_der.end(),
                    current_key_spki_der.begin(), current_key_spki_der.end())) {
      return {};
    }
    if (!verify_es256(current_key_spki_der, bytes_of(canonical_bytes(statement.statement)),
                      statement.signature)) {
      return {};
    }
    if (statement.statement.value("kind", std::string()) != kKind) return {};
    std::vector<Bytes> keys;
    for (const auto& key : statement.statement.at("keys")) {
      keys.push_back(base64_decode(key.get<std::string>(), "identity_key_history.keys"));
    }
    return keys;
  } catch (...) {
    return {};
  }
}

}  // namespace idvault::vault
