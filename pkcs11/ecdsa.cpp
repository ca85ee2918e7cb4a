#include "pkcs11/ecdsa.h"

#include "common/openssl_owners.h"
#include "pkcs11/host_digest.h"
#include "pkcs11/session_retry.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

EcPrivateKey::EcPrivateKey(Object key) : key_(std::move(key)) {
  if (key_.object_class() != CKO_PRIVATE_KEY || key_.key_type() != CKK_EC) {
    throw BadArgument("ECDSA", key_.token().label(), "the object is not an EC private key");
  }
}

EcdsaSignature EcPrivateKey::sign_sha256(ByteView message) const {
  const auto digest = sha256(message);
  return sign_digest(digest);
}

EcdsaSignature EcPrivateKey::sign_digest(ByteView digest) const {
  Token& token = key_.token();
  token.require(CKM_ECDSA, CKF_SIGN, "ECDSA signing");
  CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
  Bytes raw = once_more_on_a_fresh_session([&] {
    auto session = token.sessions().acquire();
    token.check(IDVAULT_P11_FN(C_SignInit), session.handle(), &mechanism, key_.handle());
    Bytes out(std::size_t{2} * 66);  // room for r || s on curves up to P-521
    CK_ULONG length = out.size();
    token.check(IDVAULT_P11_FN(C_Sign), session.handle(), const_cast<std::uint8_t*>(digest.data()),
                static_cast<CK_ULONG>(digest.size()), out.data(), &length);
    out.resize(length);
    return out;
  });
  EcdsaSignature signature;
  signature.der = ecdsa_raw_to_der(raw);
  signature.raw = std::move(raw);
  return signature;
}

Bytes ecdsa_raw_to_der(ByteView raw) {
  if (raw.empty() || raw.size() % 2 != 0)
    throw std::invalid_argument("ECDSA signature: r||s must have even length");
  const int half = static_cast<int>(raw.size() / 2);
  openssl::EcdsaSig sig(ECDSA_SIG_new());
  openssl::Bignum r(BN_bin2bn(raw.data(), half, nullptr));
  openssl::Bignum s(BN_bin2bn(raw.data() + half, half, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    throw std::runtime_error("ECDSA_SIG_set0 failed");
  }
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* out = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &out);
  openssl::Buffer der(out);
  if (len <= 0) throw std::runtime_error("i2d_ECDSA_SIG failed");
  return Bytes(der.get(), der.get() + len);
}

}  // namespace idvault::p11
