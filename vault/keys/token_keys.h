// The vault key interface (vault/keys.h) on keys that live on a PKCS#11 token.
//
// Failures that say something about the input become the vault's uniform DecryptError;
// failures that say something about the token (TokenGone, not logged in, mechanism
// missing) propagate as p11::Pkcs11Error, so the user sees "token removed" rather than
// "decryption failed".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pkcs11/aes.h"
#include "pkcs11/ecdsa.h"
#include "pkcs11/error.h"
#include "pkcs11/rsa.h"
#include "vault/keys/keys.h"

namespace idvault::p11 {
class Token;
}

namespace idvault::vault {

// A relying party's RSA private key on its HSM.
class TokenServiceKey final : public ServiceKey {
 public:
  // key: an RSA private key object. Reads and caches the public key.
  explicit TokenServiceKey(const p11::Object& key);
  // The private key the URI names (type=private is implied).
  [[nodiscard]] static TokenServiceKey from_uri(const std::shared_ptr<p11::Token>& token,
                                                std::string_view uri);

  // RSA-OAEP SHA-1/MGF1-SHA-1 on the token. DecryptError for anything the ciphertext
  // could have caused; TokenGone / relogin-class Pkcs11Error / UnsupportedMechanism
  // propagate.
  [[nodiscard]] SecretBytes decrypt_oaep_sha1(ByteView ciphertext) const override;
  [[nodiscard]] std::string public_key_pem() const override { return public_key_pem_; }

 private:
  p11::RsaPrivateKey key_;
  std::string public_key_pem_;
};

// An EC P-256 key on the token (the holder's identity key, a verifier's attestation key).
class TokenSigningKey final : public SigningKey {
 public:
  explicit TokenSigningKey(const p11::Object& key);
  [[nodiscard]] static TokenSigningKey from_uri(const std::shared_ptr<p11::Token>& token,
                                                std::string_view uri);

  // SHA-256 on the host, CKM_ECDSA on the token; r||s (64 bytes).
  [[nodiscard]] Bytes sign_es256(ByteView message) const override;
  [[nodiscard]] Bytes public_key_spki_der() const override { return public_key_spki_der_; }

 private:
  p11::EcPrivateKey key_;
  Bytes public_key_spki_der_;
};

// The holder's AES-256 master key on the token.
//
// Wraps with CKM_AES_KEY_WRAP_PAD (RFC 5649), not AES-GCM, because: the format is the
// one SoftwareMasterKey writes, so a vault can move between a token and its software
// recovery key without rewrapping; the value secret is unwrapped inside the token, as
// the design's key hierarchy says; and it needs no IV, so there is no IV to get wrong.
// AES-GCM (p11::AesKey::gcm_*) remains available for tokens that offer GCM but not
// wrap-with-pad; choose_master_key_mode() picks.
class TokenMasterKey final : public MasterKey {
 public:
  enum class Mode { key_wrap_pad, aes_gcm };

  explicit TokenMasterKey(p11::Object key, Mode mode = Mode::key_wrap_pad);
  [[nodiscard]] static TokenMasterKey from_uri(const std::shared_ptr<p11::Token>& token,
                                               std::string_view uri,
                                               Mode mode = Mode::key_wrap_pad);

  [[nodiscard]] Bytes wrap(const SecretBytes& secret) const override;
  // DecryptError when wrapped was altered or made by another key; TokenGone etc. propagate.
  [[nodiscard]] SecretBytes unwrap(ByteView wrapped) const override;
  [[nodiscard]] Mode mode() const noexcept { return mode_; }

 private:
  p11::AesKey key_;
  Mode mode_;
};

// Whether a token's error is about the token (gone, logged out, a dropped session, a
// session limit, a mechanism it lacks), not the input: such errors go on to the user as
// they are, anything else becomes the key's one DecryptError (no oracle).
[[nodiscard]] bool is_about_the_token(const p11::Pkcs11Error& e);

// key_wrap_pad when the token wraps and unwraps with it, else aes_gcm when it has GCM.
// Throws p11::UnsupportedMechanism when it has neither.
[[nodiscard]] TokenMasterKey::Mode choose_master_key_mode(p11::Token& token);

}  // namespace idvault::vault
