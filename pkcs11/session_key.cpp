#include "pkcs11/session_key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <utility>
#include <vector>

#include "common/openssl_owners.h"
#include "pkcs11/rsa.h"
#include "pkcs11/session_retry.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;
CK_OBJECT_CLASS kSecretKeyClass = CKO_SECRET_KEY;
CK_OBJECT_CLASS kPublicKeyClass = CKO_PUBLIC_KEY;
CK_KEY_TYPE kAes = CKK_AES;
CK_KEY_TYPE kRsa = CKK_RSA;
constexpr CK_ULONG kAes256Bytes = 32;

// Only key wrap and unwrap: the key shared between devices wraps other secrets and is
// wrapped to other devices, and has no business encrypting data directly.
std::vector<CK_ATTRIBUTE> session_aes_template(const std::string& label) {
  return {
      {CKA_CLASS, &kSecretKeyClass, sizeof kSecretKeyClass},
      {CKA_KEY_TYPE, &kAes, sizeof kAes},
      {CKA_TOKEN, &kFalse, sizeof kFalse},
      {CKA_PRIVATE, &kTrue, sizeof kTrue},
      {CKA_SENSITIVE, &kTrue, sizeof kTrue},
      {CKA_EXTRACTABLE, &kTrue, sizeof kTrue},
      {CKA_ENCRYPT, &kFalse, sizeof kFalse},
      {CKA_DECRYPT, &kFalse, sizeof kFalse},
      {CKA_WRAP, &kTrue, sizeof kTrue},
      {CKA_UNWRAP, &kTrue, sizeof kTrue},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
}

CK_RSA_PKCS_OAEP_PARAMS oaep_sha1_params() {
  CK_RSA_PKCS_OAEP_PARAMS params{};
  params.hashAlg = CKM_SHA_1;
  params.mgf = CKG_MGF1_SHA1;
  params.source = CKZ_DATA_SPECIFIED;
  params.pSourceData = nullptr;
  params.ulSourceDataLen = 0;
  return params;
}

// Codes about the session or the token's state say nothing about the wrapped bytes:
// reporting those as "made for another key" would send the holder after the wrong problem.
void fail_unless_about_data(Token& token, const char* function, CK_RV rv) {
  token.raise_if_gone(function, rv);
  const ErrorClass kind = classify(rv);
  if (kind == ErrorClass::reopen_session || kind == ErrorClass::relogin ||
      kind == ErrorClass::reinitialize || kind == ErrorClass::retry) {
    token.fail(function, rv);
  }
}

Bytes big_endian(const EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
    throw openssl::OpenSslError("EVP_PKEY_get_bn_param");
  const openssl::Bignum number(raw);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(number.get())));
  BN_bn2bin(number.get(), out.data());
  return out;
}

// The unwrapped key's length. SoftHSM 2.6.1 leaves CKA_VALUE_LEN at 0 on an unwrapped
// key (and refuses it in the unwrap template as read-only); then ask how long the key
// would be wrapped under itself with RFC 5649: a length query (no output buffer), so no
// wrapped bytes are made for the host, and 8 bytes of integrity block on the key padded
// to 8 say its length to the block.
CK_ULONG key_bytes(Token& token, Session& session, CK_OBJECT_HANDLE key) {
  CK_ULONG value_len = 0;
  CK_ATTRIBUTE attribute{CKA_VALUE_LEN, &value_len, sizeof value_len};
  token.check(IDVAULT_P11_FN(C_GetAttributeValue), session.handle(), key, &attribute, CK_ULONG{1});
  if (value_len != 0) return value_len;
  token.require(CKM_AES_KEY_WRAP_PAD, CKF_WRAP, "AES key wrap with padding");
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_ULONG wrapped_len = 0;
  token.check(IDVAULT_P11_FN(C_WrapKey), session.handle(), &mechanism, key, key, nullptr,
              &wrapped_len);
  return wrapped_len >= 8 ? wrapped_len - 8 : 0;
}

}  // namespace

SessionKey::SessionKey(SessionKey&& other) noexcept
    : session_(std::move(other.session_)), object_(std::move(other.object_)) {}

SessionKey::~SessionKey() {
  if (!session_.is_open()) return;  // moved from
  // Swallowed: if the token is gone or logged out, so is the session object.
  (void)object_.token().call(IDVAULT_P11_FN(C_DestroyObject), session_.handle(), object_.handle());
  session_.close();
}

SessionKey generate_session_aes256_key(const std::shared_ptr<Token>& token,
                                       const std::string& label) {
  token->require(CKM_AES_KEY_GEN, CKF_GENERATE, "AES key generation");
  auto key_template = session_aes_template(label);
  CK_ULONG length = kAes256Bytes;
  key_template.push_back({CKA_VALUE_LEN, &length, sizeof length});
  CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
  Session session = Session::open(*token);
  CK_OBJECT_HANDLE handle = 0;
  token->check(IDVAULT_P11_FN(C_GenerateKey), session.handle(), &mechanism, key_template.data(),
               static_cast<CK_ULONG>(key_template.size()), &handle);
  return SessionKey(std::move(session), Object(token, handle));
}

SessionKey unwrap_session_aes256_key(const RsaPrivateKey& unwrapping_key, ByteView wrapped,
                                     const std::string& label) {
  const std::shared_ptr<Token>& token = unwrapping_key.object().token_ptr();
  token->require(CKM_RSA_PKCS_OAEP, CKF_UNWRAP, "RSA-OAEP key unwrap");
  CK_RSA_PKCS_OAEP_PARAMS params = oaep_sha1_params();
  CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &params, sizeof params};
  auto key_template = session_aes_template(label);
  Session session = Session::open(*token);
  CK_OBJECT_HANDLE handle = 0;
  const CK_RV rv = token->call(
      IDVAULT_P11_FN(C_UnwrapKey), session.handle(), &mechanism, unwrapping_key.object().handle(),
      const_cast<std::uint8_t*>(wrapped.data()), static_cast<CK_ULONG>(wrapped.size()),
      key_template.data(), static_cast<CK_ULONG>(key_template.size()), &handle);
  if (rv != CKR_OK) {
    fail_unless_about_data(*token, "C_UnwrapKey", rv);
    throw AuthenticationFailed(rv, "C_UnwrapKey", token->label());
  }
  SessionKey key(std::move(session), Object(token, handle));
  // OAEP takes any short plaintext, and an AES key of 16 or 24 bytes would be made from
  // it: only a 32-byte one is what was sealed.
  if (key_bytes(*token, key.session_, handle) != kAes256Bytes) {
    throw AuthenticationFailed(CKR_WRAPPED_KEY_LEN_RANGE, "C_UnwrapKey", token->label());
  }
  return key;
}

Bytes wrap_key_rsa_oaep_sha1(const Object& key, ByteView rsa_public_key_spki_der) {
  Token& token = key.token();
  const unsigned char* cursor = rsa_public_key_spki_der.data();
  const openssl::PKey public_key(
      d2i_PUBKEY(nullptr, &cursor, static_cast<long>(rsa_public_key_spki_der.size())));
  if (!public_key || cursor != rsa_public_key_spki_der.data() + rsa_public_key_spki_der.size() ||
      EVP_PKEY_is_a(public_key.get(), "RSA") != 1) {
    ERR_clear_error();
    throw BadArgument("C_WrapKey", token.label(), "the wrapping key is not an RSA public key");
  }
  if (EVP_PKEY_get_bits(public_key.get()) < 2048) {
    throw BadArgument("C_WrapKey", token.label(), "the wrapping key has under 2048 bits");
  }
  Bytes modulus = big_endian(public_key.get(), OSSL_PKEY_PARAM_RSA_N);
  Bytes exponent = big_endian(public_key.get(), OSSL_PKEY_PARAM_RSA_E);
  token.require(CKM_RSA_PKCS_OAEP, CKF_WRAP, "RSA-OAEP key wrap");
  CK_RSA_PKCS_OAEP_PARAMS params = oaep_sha1_params();
  CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &params, sizeof params};
  std::vector<CK_ATTRIBUTE> public_template{
      {CKA_CLASS, &kPublicKeyClass, sizeof kPublicKeyClass},
      {CKA_KEY_TYPE, &kRsa, sizeof kRsa},
      {CKA_TOKEN, &kFalse, sizeof kFalse},
      {CKA_PRIVATE, &kFalse, sizeof kFalse},
      {CKA_WRAP, &kTrue, sizeof kTrue},
      {CKA_MODULUS, modulus.data(), modulus.size()},
      {CKA_PUBLIC_EXPONENT, exponent.data(), exponent.size()},
  };

  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    CK_OBJECT_HANDLE imported_handle = 0;
    token.check(IDVAULT_P11_FN(C_CreateObject), session.handle(), public_template.data(),
                static_cast<CK_ULONG>(public_template.size()), &imported_handle);
    TemporaryObject wrapping_key(session, imported_handle);
    Bytes wrapped(modulus.size());
    CK_ULONG length = wrapped.size();
    token.check(IDVAULT_P11_FN(C_WrapKey), session.handle(), &mechanism, wrapping_key.handle(),
                key.handle(), wrapped.data(), &length);
    wrapped.resize(length);
    return wrapped;
  });
}

}  // namespace idvault::p11
