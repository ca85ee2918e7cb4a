#include "pkcs11/aes.h"

#include <openssl/crypto.h>

#include <cstring>

#include "pkcs11/random.h"
#include "pkcs11/session_retry.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

// A failed authenticated decryption is AuthenticationFailed whatever the token's code
// (SoftHSM says CKR_GENERAL_ERROR for a bad tag), except for codes about the session or
// the token's state, which say nothing about the data: reporting those as "altered or
// made under another key" would send the holder after the wrong problem.
void fail_unless_about_data(Token& token, const char* function, CK_RV rv) {
  token.raise_if_gone(function, rv);
  const ErrorClass kind = classify(rv);
  if (kind == ErrorClass::reopen_session || kind == ErrorClass::relogin ||
      kind == ErrorClass::reinitialize || kind == ErrorClass::retry) {
    token.fail(function, rv);
  }
}

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;
CK_OBJECT_CLASS kSecretKeyClass = CKO_SECRET_KEY;
CK_KEY_TYPE kGenericSecret = CKK_GENERIC_SECRET;

// A generic secret that lives only in this session, extractable so that it can be
// wrapped, non-sensitive so that an unwrapped one can be read back: this is the secret
// itself in transit, never a key that guards anything.
std::vector<CK_ATTRIBUTE> transit_secret_template() {
  return {
      {CKA_CLASS, &kSecretKeyClass, sizeof kSecretKeyClass},
      {CKA_KEY_TYPE, &kGenericSecret, sizeof kGenericSecret},
      {CKA_TOKEN, &kFalse, sizeof kFalse},
      {CKA_PRIVATE, &kTrue, sizeof kTrue},
      {CKA_SENSITIVE, &kFalse, sizeof kFalse},
      {CKA_EXTRACTABLE, &kTrue, sizeof kTrue},
  };
}

CK_GCM_PARAMS gcm_params(std::uint8_t* iv, ByteView aad) {
  CK_GCM_PARAMS params{};
  params.pIv = iv;
  params.ulIvLen = AesKey::kGcmIvBytes;
  params.ulIvBits = AesKey::kGcmIvBytes * 8;
  params.pAAD = const_cast<std::uint8_t*>(aad.data());
  params.ulAADLen = aad.size();
  params.ulTagBits = AesKey::kGcmTagBytes * 8;
  return params;
}

}  // namespace

AesKey::AesKey(Object key) : key_(std::move(key)) {
  if (key_.object_class() != CKO_SECRET_KEY || key_.key_type() != CKK_AES) {
    throw BadArgument("AES", key_.token().label(), "the object is not an AES key");
  }
}

Bytes AesKey::wrap_secret(const SecretBytes& secret) const {
  Token& token = key_.token();
  if (secret.empty())
    throw BadArgument("C_WrapKey", token.label(), "nothing to wrap: the secret is empty");
  // SoftHSM 2.6.1 unwraps CKM_AES_KEY_WRAP_PAD without removing the padding, so a
  // secret of another length would not come back as it went in.
  if (secret.size() % 8 != 0) {
    throw BadArgument("C_WrapKey", token.label(),
                      "secrets to wrap must be a multiple of 8 bytes long (value secrets are 32)");
  }
  token.require(CKM_AES_KEY_WRAP_PAD, CKF_WRAP, "AES key wrap with padding");
  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();

    auto import_template = transit_secret_template();
    import_template.push_back(
        {CKA_VALUE, const_cast<std::uint8_t*>(secret.reveal().data()), secret.size()});
    CK_OBJECT_HANDLE imported_handle = 0;
    token.check(IDVAULT_P11_FN(C_CreateObject), session.handle(), import_template.data(),
                static_cast<CK_ULONG>(import_template.size()), &imported_handle);
    TemporaryObject imported(session, imported_handle);

    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    // RFC 5649: the input padded to a multiple of 8, plus the 8-byte integrity block.
    Bytes wrapped((secret.size() + 7) / 8 * 8 + 8);
    CK_ULONG length = wrapped.size();
    token.check(IDVAULT_P11_FN(C_WrapKey), session.handle(), &mechanism, key_.handle(),
                imported.handle(), wrapped.data(), &length);
    wrapped.resize(length);
    return wrapped;
  });
}

SecretBytes AesKey::unwrap_secret(ByteView wrapped) const {
  Token& token = key_.token();
  token.require(CKM_AES_KEY_WRAP_PAD, CKF_UNWRAP, "AES key unwrap with padding");
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0) {
    throw AuthenticationFailed(CKR_WRAPPED_KEY_LEN_RANGE, "C_UnwrapKey", token.label());
  }
  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    auto unwrap_template = transit_secret_template();
    CK_OBJECT_HANDLE unwrapped_handle = 0;
    const CK_RV rv = token.call(IDVAULT_P11_FN(C_UnwrapKey), session.handle(), &mechanism,
                                key_.handle(), const_cast<std::uint8_t*>(wrapped.data()),
                                static_cast<CK_ULONG>(wrapped.size()), unwrap_template.data(),
                                static_cast<CK_ULONG>(unwrap_template.size()), &unwrapped_handle);
    if (rv != CKR_OK) {
      fail_unless_about_data(token, "C_UnwrapKey", rv);
      throw AuthenticationFailed(rv, "C_UnwrapKey", token.label());
    }
    TemporaryObject unwrapped(session, unwrapped_handle);
    Bytes value = read_attribute(session, unwrapped.handle(), CKA_VALUE);
    SecretBytes secret{ByteView(value)};
    OPENSSL_cleanse(value.data(), value.size());
    return secret;
  });
}

Bytes AesKey::gcm_encrypt(const SecretBytes& plaintext, ByteView aad) const {
  Token& token = key_.token();
  token.require(CKM_AES_GCM, CKF_ENCRYPT, "AES-GCM encryption");
  // A fresh random IV per message: with one key sealing many secrets, a repeated IV
  // would reveal their XOR and the authentication key.
  const SecretBytes iv = generate_random(token, kGcmIvBytes);
  Bytes sealed(kGcmIvBytes + plaintext.size() + kGcmTagBytes);
  std::memcpy(sealed.data(), iv.reveal().data(), kGcmIvBytes);
  CK_GCM_PARAMS params = gcm_params(sealed.data(), aad);
  CK_MECHANISM mechanism{CKM_AES_GCM, &params, sizeof params};

  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    token.check(IDVAULT_P11_FN(C_EncryptInit), session.handle(), &mechanism, key_.handle());
    CK_ULONG length = sealed.size() - kGcmIvBytes;
    token.check(IDVAULT_P11_FN(C_Encrypt), session.handle(),
                const_cast<std::uint8_t*>(plaintext.reveal().data()),
                static_cast<CK_ULONG>(plaintext.size()), sealed.data() + kGcmIvBytes, &length);
    sealed.resize(kGcmIvBytes + length);
    return std::move(sealed);
  });
}

SecretBytes AesKey::gcm_decrypt(ByteView sealed, ByteView aad) const {
  Token& token = key_.token();
  token.require(CKM_AES_GCM, CKF_DECRYPT, "AES-GCM decryption");
  if (sealed.size() < kGcmIvBytes + kGcmTagBytes) {
    throw AuthenticationFailed(CKR_ENCRYPTED_DATA_LEN_RANGE, "C_Decrypt", token.label());
  }
  Bytes iv(sealed.begin(), sealed.begin() + kGcmIvBytes);
  CK_GCM_PARAMS params = gcm_params(iv.data(), aad);
  CK_MECHANISM mechanism{CKM_AES_GCM, &params, sizeof params};
  const ByteView body = sealed.subspan(kGcmIvBytes);

  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    token.check(IDVAULT_P11_FN(C_DecryptInit), session.handle(), &mechanism, key_.handle());
    SecretBytes plaintext(body.size());
    CK_ULONG length = plaintext.size();
    const CK_RV rv = token.call(
        IDVAULT_P11_FN(C_Decrypt), session.handle(), const_cast<std::uint8_t*>(body.data()),
        static_cast<CK_ULONG>(body.size()), plaintext.reveal_mutable().data(), &length);
    if (rv != CKR_OK) {
      fail_unless_about_data(token, "C_Decrypt", rv);
      throw AuthenticationFailed(rv, "C_Decrypt", token.label());
    }
    plaintext.resize(length);
    return plaintext;
  });
}

}  // namespace idvault::p11
