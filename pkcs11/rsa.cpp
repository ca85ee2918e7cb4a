#include "pkcs11/rsa.h"

#include "pkcs11/host_digest.h"
#include "pkcs11/session_retry.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

RsaPrivateKey::RsaPrivateKey(Object key) : key_(std::move(key)), modulus_bytes_(0) {
  if (key_.object_class() != CKO_PRIVATE_KEY || key_.key_type() != CKK_RSA) {
    throw BadArgument("RSA", key_.token().label(), "the object is not an RSA private key");
  }
  // CKA_MODULUS of a private key is public information, readable even when sensitive.
  modulus_bytes_ = key_.attribute(CKA_MODULUS).size();
}

SecretBytes RsaPrivateKey::decrypt_oaep(ByteView ciphertext, OaepHash hash) const {
  Token& token = key_.token();
  token.require(CKM_RSA_PKCS_OAEP, CKF_DECRYPT, "RSA-OAEP decryption");
  CK_RSA_PKCS_OAEP_PARAMS params{};
  params.hashAlg = hash == OaepHash::sha1 ? CKM_SHA_1 : CKM_SHA256;
  params.mgf = hash == OaepHash::sha1 ? CKG_MGF1_SHA1 : CKG_MGF1_SHA256;
  params.source = CKZ_DATA_SPECIFIED;
  params.pSourceData = nullptr;
  params.ulSourceDataLen = 0;
  CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &params, sizeof params};

  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    const CK_RV init_rv =
        token.call(IDVAULT_P11_FN(C_DecryptInit), session.handle(), &mechanism, key_.handle());
    if (init_rv != CKR_OK) {
      token.raise_if_gone("C_DecryptInit", init_rv);
      if (hash == OaepHash::sha256 &&
          (init_rv == CKR_ARGUMENTS_BAD || init_rv == CKR_MECHANISM_PARAM_INVALID ||
           init_rv == CKR_MECHANISM_INVALID)) {
        token.note_oaep_sha256_rejected();
        throw UnsupportedMechanism(token.label(),
                                   "RSA-OAEP with SHA-256 (the token accepts OAEP only with SHA-1)",
                                   init_rv, "C_DecryptInit");
      }
      token.fail("C_DecryptInit", init_rv);
    }
    // The plaintext cannot exceed the modulus: size the buffer by it and skip the
    // length-query round trip.
    SecretBytes plaintext(modulus_bytes_);
    CK_ULONG length = plaintext.size();
    token.check(
        IDVAULT_P11_FN(C_Decrypt), session.handle(), const_cast<std::uint8_t*>(ciphertext.data()),
        static_cast<CK_ULONG>(ciphertext.size()), plaintext.reveal_mutable().data(), &length);
    plaintext.resize(length);
    return plaintext;
  });
}

Bytes RsaPrivateKey::sign_pss_sha256(ByteView message) const {
  Token& token = key_.token();
  CK_RSA_PKCS_PSS_PARAMS params{CKM_SHA256, CKG_MGF1_SHA256, 32};
  const bool combined = token.offers(CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN);
  if (!combined) token.require(CKM_RSA_PKCS_PSS, CKF_SIGN, "RSA-PSS signing");
  CK_MECHANISM mechanism{combined ? CKM_SHA256_RSA_PKCS_PSS : CKM_RSA_PKCS_PSS, &params,
                         sizeof params};
  const auto digest = sha256(message);
  const ByteView input = combined ? message : ByteView(digest);

  return once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    token.check(IDVAULT_P11_FN(C_SignInit), session.handle(), &mechanism, key_.handle());
    Bytes signature(modulus_bytes_);
    CK_ULONG length = signature.size();
    token.check(IDVAULT_P11_FN(C_Sign), session.handle(), const_cast<std::uint8_t*>(input.data()),
                static_cast<CK_ULONG>(input.size()), signature.data(), &length);
    signature.resize(length);
    return signature;
  });
}

}  // namespace idvault::p11
