#include "vault/keys/token_keys.h"

#include "pkcs11/error.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/token.h"
#include "pkcs11/uri.h"
#include "vault/model/errors.h"

namespace idvault::vault {

namespace {

p11::Object find_private(const std::shared_ptr<p11::Token>& token, std::string_view uri,
                         CK_OBJECT_CLASS cls) {
  return p11::find_object(token, p11::Uri::parse(uri), cls);
}

}  // namespace

// What is about the token, not the input: let it through so the user can act on it. A
// session the token dropped or a session limit reached says nothing about the ciphertext
// (no oracle), and calling it "decryption failed" would send the holder after the data.
bool is_about_the_token(const p11::Pkcs11Error& e) {
  return e.kind() == p11::ErrorKind::token_gone ||
         e.kind() == p11::ErrorKind::unsupported_mechanism ||
         e.error_class() == p11::ErrorClass::relogin ||
         e.error_class() == p11::ErrorClass::reinitialize ||
         e.error_class() == p11::ErrorClass::reopen_session ||
         e.error_class() == p11::ErrorClass::retry ||
         e.error_class() == p11::ErrorClass::token_gone;
}

TokenServiceKey::TokenServiceKey(const p11::Object& key)
    : key_(key), public_key_pem_(p11::spki_pem(*p11::public_key_of(key))) {}

TokenServiceKey TokenServiceKey::from_uri(const std::shared_ptr<p11::Token>& token,
                                          std::string_view uri) {
  return TokenServiceKey(find_private(token, uri, CKO_PRIVATE_KEY));
}

SecretBytes TokenServiceKey::decrypt_oaep_sha1(ByteView ciphertext) const {
  try {
    return key_.decrypt_oaep(ciphertext, p11::OaepHash::sha1);
  } catch (const p11::Pkcs11Error& e) {
    if (is_about_the_token(e)) throw;
    // One answer for every bad ciphertext: no padding oracle.
    throw DecryptError();
  }
}

TokenSigningKey::TokenSigningKey(const p11::Object& key)
    : key_(key), public_key_spki_der_(p11::spki_der(*p11::public_key_of(key))) {}

TokenSigningKey TokenSigningKey::from_uri(const std::shared_ptr<p11::Token>& token,
                                          std::string_view uri) {
  return TokenSigningKey(find_private(token, uri, CKO_PRIVATE_KEY));
}

Bytes TokenSigningKey::sign_es256(ByteView message) const {
  auto signature = key_.sign_sha256(message);
  if (signature.raw.size() != 64) {
    throw p11::BadArgument("ES256", key_.object().token().label(), "the key is not on P-256");
  }
  return std::move(signature.raw);
}

TokenMasterKey::TokenMasterKey(p11::Object key, Mode mode) : key_(std::move(key)), mode_(mode) {}

TokenMasterKey TokenMasterKey::from_uri(const std::shared_ptr<p11::Token>& token,
                                        std::string_view uri, Mode mode) {
  return TokenMasterKey(find_private(token, uri, CKO_SECRET_KEY), mode);
}

Bytes TokenMasterKey::wrap(const SecretBytes& secret) const {
  return mode_ == Mode::key_wrap_pad ? key_.wrap_secret(secret) : key_.gcm_encrypt(secret);
}

SecretBytes TokenMasterKey::unwrap(ByteView wrapped) const {
  try {
    return mode_ == Mode::key_wrap_pad ? key_.unwrap_secret(wrapped) : key_.gcm_decrypt(wrapped);
  } catch (const p11::Pkcs11Error& e) {
    if (is_about_the_token(e)) throw;
    throw DecryptError();
  }
}

TokenMasterKey::Mode choose_master_key_mode(p11::Token& token) {
  const auto caps = token.capabilities();
  if (caps.aes_key_wrap_pad && caps.unwrap) return TokenMasterKey::Mode::key_wrap_pad;
  if (caps.aes_gcm) return TokenMasterKey::Mode::aes_gcm;
  throw p11::UnsupportedMechanism(token.label(),
                                  "a master key needs AES key wrap with padding or AES-GCM");
}

}  // namespace idvault::vault
