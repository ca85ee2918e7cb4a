// A secret key that lives on the token only as long as its owner in this process: a
// session object (CKA_TOKEN false), made in a session of its own so that no pooled
// session's coming and going can take it away early, and destroyed when the owner goes.
//
// Session objects are visible to every session of this process, so the key is used
// through ordinary pooled sessions (AesKey takes object()). The token forgets a private
// session object at logout and at removal, whatever this process does: let the owner go
// before the Login does, since a module that reuses handles could by then have given
// this one to another object.
//
// Keys made here are sensitive (their value never leaves the token in clear) but
// extractable: they can be wrapped to another key, which is what they are for (a key
// shared by several devices, each holding it sealed to its own key pair).
#pragma once

#include <memory>
#include <string>

#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"
#include "pkcs11/session.h"

namespace idvault::p11 {

class RsaPrivateKey;
class Token;

class SessionKey {
 public:
  // One object, one owner: a copy would destroy the key under the other copy.
  SessionKey(const SessionKey&) = delete;
  SessionKey& operator=(const SessionKey&) = delete;
  SessionKey(SessionKey&& other) noexcept;
  SessionKey& operator=(SessionKey&&) = delete;  // keys are made, not reassigned
  // C_DestroyObject, then C_CloseSession; errors (the token may be gone) are swallowed.
  ~SessionKey();

  // A view of the key for operations; valid while this SessionKey lives.
  [[nodiscard]] const Object& object() const noexcept { return object_; }

 private:
  friend SessionKey generate_session_aes256_key(const std::shared_ptr<Token>& token,
                                                const std::string& label);
  friend SessionKey unwrap_session_aes256_key(const RsaPrivateKey& unwrapping_key, ByteView wrapped,
                                              const std::string& label);
  SessionKey(Session session, Object object) noexcept
      : session_(std::move(session)), object_(std::move(object)) {}

  Session session_;
  Object object_;
};

// A fresh AES-256 session key (C_GenerateKey, CKM_AES_KEY_GEN): private, sensitive,
// extractable; encrypts, decrypts, wraps and unwraps. Throws UnsupportedMechanism when
// the token cannot make AES keys, else Pkcs11Error.
[[nodiscard]] SessionKey generate_session_aes256_key(const std::shared_ptr<Token>& token,
                                                     const std::string& label);

// C_UnwrapKey of an AES-256 key wrapped with RSA-OAEP (SHA-1, MGF1-SHA-1, no label) to
// unwrapping_key's public half, into a session key as generate_session_aes256_key makes.
// Throws AuthenticationFailed, one error for every cause that lies in wrapped (made for
// another key, altered, not 32 bytes), so there is no padding oracle; UnsupportedMechanism
// when the token cannot unwrap with OAEP; TokenGone and session errors as they are.
[[nodiscard]] SessionKey unwrap_session_aes256_key(const RsaPrivateKey& unwrapping_key,
                                                   ByteView wrapped, const std::string& label);

// C_WrapKey of key with RSA-OAEP (SHA-1, MGF1-SHA-1, no label) under an RSA public key
// given as SubjectPublicKeyInfo DER, imported for the call as a temporary session object.
// key must be extractable. Throws BadArgument unless the SPKI is RSA of at least 2048
// bits; UnsupportedMechanism when the token cannot wrap with OAEP; else Pkcs11Error.
[[nodiscard]] Bytes wrap_key_rsa_oaep_sha1(const Object& key, ByteView rsa_public_key_spki_der);

}  // namespace idvault::p11
