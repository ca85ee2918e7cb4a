#include "vault/keys/recovery_key.h"

#include <argon2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <optional>

#include "common/aes_gcm.h"
#include "common/base64.h"
#include "common/pem.h"
#include "common/utf8.h"
#include "vault/keys/rsa_oaep.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

using openssl::check;

constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kNonceSize = aes_gcm::kIvBytes;
constexpr int kRecoveryBits = 3072;

Bytes random_bytes(std::size_t size) {
  Bytes bytes(size);
  check(RAND_bytes(bytes.data(), static_cast<int>(size)), "RAND_bytes");
  return bytes;
}

SecretBytes derive_key(const SecretBytes& password, const Bytes& salt,
                       const RecoveryKdfParams& params) {
  SecretBytes key(32);
  int rc = argon2id_hash_raw(params.t_cost, params.m_cost_kib, params.parallelism,
                             password.reveal().data(), password.size(), salt.data(), salt.size(),
                             key.reveal_mutable().data(), key.size());
  if (rc != ARGON2_OK)
    throw FormatError("recovery", std::string("Argon2id failed: ") + argon2_error_message(rc));
  return key;
}

// AES-256-GCM (common/aes_gcm.h); the tag travels after the ciphertext.
Bytes gcm_seal(const SecretBytes& key, const Bytes& nonce, const std::string& aad,
               ByteView plaintext) {
  return aes_gcm::seal(key, nonce, bytes_of(aad), plaintext);
}

SecretBytes gcm_open(const SecretBytes& key, const Bytes& nonce, const std::string& aad,
                     ByteView sealed) {
  auto opened = aes_gcm::open(key, nonce, bytes_of(aad), sealed);
  if (!opened) throw DecryptError("wrong recovery password");
  return std::move(*opened);
}

void set_oaep_sha256(EVP_PKEY_CTX* ctx, std::string_view label) {
  check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), "EVP_PKEY_CTX_set_rsa_padding");
  check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, openssl::sha256()), "EVP_PKEY_CTX_set_rsa_oaep_md");
  check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, openssl::sha256()), "EVP_PKEY_CTX_set_rsa_mgf1_md");
  if (label.empty()) return;
  // The context takes the copy on success; on failure it is ours to free.
  void* copy = OPENSSL_memdup(label.data(), label.size());
  if (copy == nullptr) throw openssl::OpenSslError("OPENSSL_memdup");
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, static_cast<int>(label.size())) <= 0) {
    OPENSSL_free(copy);
    throw openssl::OpenSslError("EVP_PKEY_CTX_set0_rsa_oaep_label");
  }
}

// What the envelope's GCM authenticates besides the private key: everything a store
// could be edited to change. Envelopes without an identity key (before 0.4) had none.
std::string envelope_aad(const RecoveryEnvelope& envelope) {
  if (envelope.identity_key_spki_der.empty()) return {};
  return canonical_bytes({{"v", 1},
                          {"purpose", "idvault recovery envelope"},
                          {"t_cost", envelope.params.t_cost},
                          {"m_cost_kib", envelope.params.m_cost_kib},
                          {"parallelism", envelope.params.parallelism},
                          {"salt", base64_encode(envelope.salt)},
                          {"public_key", envelope.public_key_pem},
                          {"identity_key", base64_encode(envelope.identity_key_spki_der)}});
}

std::string range_text(std::uint32_t low, std::uint32_t high) {
  return "must be between " + std::to_string(low) + " and " + std::to_string(high);
}

SecretBytes private_key_der(const openssl::PKey& key) {
  unsigned char* der = nullptr;
  int der_size = i2d_PrivateKey(key.get(), &der);
  if (der_size <= 0) throw openssl::OpenSslError("i2d_PrivateKey");
  SecretBytes private_der(std::span<const std::uint8_t>(der, static_cast<std::size_t>(der_size)));
  OPENSSL_clear_free(der, static_cast<std::size_t>(der_size));
  return private_der;
}

// A new envelope around this private key, under this password, for this identity key.
RecoveryEnvelope seal_envelope(const openssl::PKey& key, const SecretBytes& password,
                               const SigningKey& identity_key, RecoveryKdfParams params) {
  check_recovery_kdf_params(params);
  RecoveryEnvelope envelope;
  envelope.params = params;
  envelope.salt = random_bytes(kSaltSize);
  envelope.nonce = random_bytes(kNonceSize);
  envelope.public_key_pem = public_key_pem_of(*key);
  envelope.identity_key_spki_der = identity_key.public_key_spki_der();
  SecretBytes wrapping_key = derive_key(password, envelope.salt, params);
  envelope.sealed_private_key =
      gcm_seal(wrapping_key, envelope.nonce, envelope_aad(envelope), private_key_der(key).reveal());
  sign_recovery_envelope(envelope, identity_key);
  return envelope;
}

std::uint32_t param(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_number_unsigned())
    throw FormatError(std::string("recovery.") + name, "missing");
  return it->get<std::uint32_t>();
}

std::string text(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string())
    throw FormatError(std::string("recovery.") + name, "missing");
  return it->get<std::string>();
}

}  // namespace

void check_recovery_kdf_params(const RecoveryKdfParams& params) {
  if (params.t_cost < kMinRecoveryTCost || params.t_cost > kMaxRecoveryTCost) {
    throw FormatError("recovery.t_cost",
                      range_text(kMinRecoveryTCost, kMaxRecoveryTCost) + " (Argon2id passes)");
  }
  if (params.m_cost_kib < kMinRecoveryMCostKib || params.m_cost_kib > kMaxRecoveryMCostKib) {
    throw FormatError(
        "recovery.m_cost_kib",
        range_text(kMinRecoveryMCostKib, kMaxRecoveryMCostKib) + " KiB (Argon2id memory)");
  }
  if (params.parallelism < kMinRecoveryParallelism ||
      params.parallelism > kMaxRecoveryParallelism) {
    throw FormatError(
        "recovery.parallelism",
        range_text(kMinRecoveryParallelism, kMaxRecoveryParallelism) + " (Argon2id lanes)");
  }
}

nlohmann::json to_json(const RecoveryEnvelope& envelope) {
  nlohmann::json json = {{"kdf", "argon2id"},
                         {"t_cost", envelope.params.t_cost},
                         {"m_cost_kib", envelope.params.m_cost_kib},
                         {"parallelism", envelope.params.parallelism},
                         {"salt", base64_encode(envelope.salt)},
                         {"nonce", base64_encode(envelope.nonce)},
                         {"sealed_private_key", base64_encode(envelope.sealed_private_key)},
                         {"public_key", envelope.public_key_pem}};
  if (!envelope.identity_key_spki_der.empty())
    json["identity_key"] = base64_encode(envelope.identity_key_spki_der);
  if (!envelope.signature.empty()) json["signature"] = base64_encode(envelope.signature);
  return json;
}

std::string recovery_envelope_signed_bytes(const RecoveryEnvelope& envelope) {
  nlohmann::json statement = to_json(envelope);
  statement.erase("signature");
  statement["v"] = 1;
  statement["purpose"] = "idvault recovery envelope";
  return canonical_bytes(statement);
}

void sign_recovery_envelope(RecoveryEnvelope& envelope, const SigningKey& identity_key) {
  envelope.signature = identity_key.sign_es256(bytes_of(recovery_envelope_signed_bytes(envelope)));
}

bool recovery_envelope_signed_by(const RecoveryEnvelope& envelope,
                                 ByteView identity_spki_der) noexcept {
  if (envelope.signature.empty()) return false;
  try {
    return verify_es256(identity_spki_der, bytes_of(recovery_envelope_signed_bytes(envelope)),
                        envelope.signature);
  } catch (...) {
    return false;
  }
}

std::string recovery_seal_label(std::string_view element_type, std::string_view slot,
                                std::string_view file_id) {
  std::string label = "idvault recovery seal v1\n";
  label.append(element_type).append("\n").append(slot).append("\n").append(file_id);
  return label;
}

void check_recovery_password(const SecretBytes& password) {
  auto length = utf8_length(password.reveal_text());
  if (!length) throw FormatError("recovery_password", "must be valid UTF-8");
  if (*length < 8) throw FormatError("recovery_password", "must be at least 8 characters");
}

RecoveryEnvelope recovery_envelope_from_json(const nlohmann::json& json) {
  if (!json.is_object() || json.value("kdf", "") != "argon2id")
    throw FormatError("recovery", "unknown envelope");
  RecoveryEnvelope envelope;
  envelope.params = {param(json, "t_cost"), param(json, "m_cost_kib"), param(json, "parallelism")};
  check_recovery_kdf_params(envelope.params);
  envelope.salt = base64_decode(text(json, "salt"), "recovery.salt");
  envelope.nonce = base64_decode(text(json, "nonce"), "recovery.nonce");
  envelope.sealed_private_key =
      base64_decode(text(json, "sealed_private_key"), "recovery.sealed_private_key");
  envelope.public_key_pem = text(json, "public_key");
  if (json.contains("identity_key")) {
    envelope.identity_key_spki_der =
        base64_decode(text(json, "identity_key"), "recovery.identity_key");
  }
  if (json.contains("signature"))
    envelope.signature = base64_decode(text(json, "signature"), "recovery.signature");
  return envelope;
}

RecoveryEnvelope create_recovery_envelope(const SecretBytes& password,
                                          const SigningKey& identity_key,
                                          RecoveryKdfParams params) {
  check_recovery_password(password);
  check_recovery_kdf_params(params);
  openssl::PKey key(EVP_RSA_gen(kRecoveryBits));
  if (!key) throw openssl::OpenSslError("EVP_RSA_gen");
  return seal_envelope(key, password, identity_key, params);
}

RecoverySealer::RecoverySealer(std::string_view public_key_pem) {
  auto bio = openssl::make_memory_bio(public_key_pem.data(), public_key_pem.size());
  key_.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key_ || EVP_PKEY_is_a(key_.get(), "RSA") != 1) {
    ERR_clear_error();
    throw FormatError("recovery.public_key", "not an RSA public key");
  }
}

Bytes RecoverySealer::seal(const SecretBytes& secret, std::string_view label) const {
  auto ctx = openssl::make_pkey_ctx(key_.get());
  check(EVP_PKEY_encrypt_init(ctx.get()), "EVP_PKEY_encrypt_init");
  set_oaep_sha256(ctx.get(), label);
  std::size_t size = static_cast<std::size_t>(EVP_PKEY_get_size(key_.get()));
  Bytes out(size);
  check(EVP_PKEY_encrypt(ctx.get(), out.data(), &size, secret.reveal().data(), secret.size()),
        "EVP_PKEY_encrypt");
  out.resize(size);
  return out;
}

RecoveryOpener RecoveryOpener::open(const RecoveryEnvelope& envelope, const SecretBytes& password) {
  SecretBytes wrapping_key = derive_key(password, envelope.salt, envelope.params);
  SecretBytes private_der =
      gcm_open(wrapping_key, envelope.nonce, envelope_aad(envelope), envelope.sealed_private_key);
  const unsigned char* der = private_der.reveal().data();
  openssl::PKey key(d2i_AutoPrivateKey(nullptr, &der, static_cast<long>(private_der.size())));
  if (!key) {
    ERR_clear_error();
    throw DecryptError("wrong recovery password");
  }
  return RecoveryOpener(std::move(key));
}

SecretBytes RecoveryOpener::unseal(ByteView sealed, std::string_view label) const {
  const auto attempt = [&](std::string_view with_label) -> std::optional<SecretBytes> {
    auto ctx = openssl::make_pkey_ctx(key_.get());
    SecretBytes out(static_cast<std::size_t>(EVP_PKEY_get_size(key_.get())));
    std::size_t size = out.size();
    bool ok = EVP_PKEY_decrypt_init(ctx.get()) == 1;
    if (ok) set_oaep_sha256(ctx.get(), with_label);
    ok = ok && EVP_PKEY_decrypt(ctx.get(), out.reveal_mutable().data(), &size, sealed.data(),
                                sealed.size()) == 1;
    if (!ok) {
      ERR_clear_error();
      return std::nullopt;
    }
    out.resize(size);
    return out;
  };
  if (auto secret = attempt(label)) return std::move(*secret);
  if (auto legacy = attempt({})) return std::move(*legacy);  // sealed before labels
  throw DecryptError("recovery: a sealed secret could not be opened");
}

SecretBytes RecoveryOpener::unseal_slot(ByteView sealed) const {
  auto vault_key = rsa_oaep_sha1_decrypt(key_.get(), sealed);
  if (!vault_key) throw DecryptError("recovery: the key slot could not be opened");
  return std::move(*vault_key);
}

RecoveryEnvelope RecoveryOpener::reseal(const SecretBytes& password, const RecoveryEnvelope& old,
                                        const SigningKey& identity_key) const {
  return seal_envelope(key_, password, identity_key, old.params);
}

Bytes RecoveryOpener::sign_pss_sha256(ByteView message) const {
  return sign_ps256(key_.get(), message);
}

Bytes RecoveryOpener::public_key_spki_der() const {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key_.get(), &der);
  if (size <= 0) throw openssl::OpenSslError("i2d_PUBKEY");
  openssl::Buffer owned(der);
  return {der, der + size};
}

}  // namespace idvault::vault
