// A service's token: the module loaded, the token a URI names found (RFC 7512 token
// attributes; `pkcs11:` alone matches the only token), and the user logged in for as
// long as this lives. Keys are then found by their own URIs.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "common/secret_bytes.h"
#include "pkcs11/login.h"
#include "pkcs11/rsa.h"
#include "pkcs11/token.h"
#include "vault/keys/token_keys.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::rp {

// The label `idvault-rp keygen` gives the seal key, and the one serve looks for.
inline constexpr const char* kDefaultSealKeyLabel = "idvault-rp-seal";
// keygen makes it with p11::generate_aes256_key.
inline constexpr unsigned long kSealKeyBytes = 32;

class ServiceToken {
 public:
  // uri: a token or key URI; its token attributes pick the token. Throws the PKCS#11
  // layer's errors (ModuleLoadError, TokenNotFound, AmbiguousToken, PinIncorrect, ...).
  [[nodiscard]] static ServiceToken open(const std::filesystem::path& module, std::string_view uri,
                                         const SecretBytes& pin);

  [[nodiscard]] const std::shared_ptr<p11::Token>& token() const noexcept { return token_; }
  // The RSA private key the URI names (ObjectNotFound / BadArgument otherwise).
  [[nodiscard]] vault::TokenServiceKey service_key(std::string_view key_uri) const;
  [[nodiscard]] vault::TokenSigningKey signing_key(std::string_view key_uri) const;
  // The AES seal key the URI names (empty: the one labelled kDefaultSealKeyLabel), which
  // seals results' data keys with CKM_AES_GCM (CKM_AES_KEY_WRAP_PAD on a token without
  // GCM). A token without the key is a
  // std::runtime_error naming `idvault-rp keygen --seal-only`, the command that makes it.
  [[nodiscard]] vault::TokenMasterKey seal_key(std::string_view seal_key_uri = {}) const;
  // Whether the token still answers: present in its slot and the same token (GET /healthz).
  // Never throws.
  [[nodiscard]] bool answers() const noexcept { return token_->present_in_slot(); }

 private:
  ServiceToken(std::shared_ptr<p11::Token> token, p11::Login login)
      : token_(std::move(token)), login_(std::move(login)) {}
  std::shared_ptr<p11::Token> token_;
  p11::Login login_;
};

// The service key signing element errors on the token: RSASSA-PSS SHA-256.
class TokenErrorSigningKey final : public vault::ErrorSigningKey {
 public:
  // key_uri names the RSA private key; the public half gives the SPKI.
  TokenErrorSigningKey(const ServiceToken& token, std::string_view key_uri);
  [[nodiscard]] vault::Bytes sign_pss_sha256(vault::ByteView message) const override;
  [[nodiscard]] vault::Bytes public_key_spki_der() const override { return spki_der_; }

 private:
  p11::RsaPrivateKey key_;
  vault::Bytes spki_der_;
};

}  // namespace idvault::rp
