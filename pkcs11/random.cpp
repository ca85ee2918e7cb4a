#include "pkcs11/random.h"

#include "pkcs11/token.h"

namespace idvault::p11 {

SecretBytes generate_random(Token& token, std::size_t size) {
  SecretBytes out(size);
  if (size == 0) return out;
  auto session = token.sessions().acquire();
  const CK_RV rv = token.call(IDVAULT_P11_FN(C_GenerateRandom), session.handle(),
                              out.reveal_mutable().data(), static_cast<CK_ULONG>(size));
  if (rv == CKR_RANDOM_NO_RNG || rv == CKR_FUNCTION_NOT_SUPPORTED) {
    throw UnsupportedMechanism(token.label(), "random generation", rv, "C_GenerateRandom");
  }
  if (rv != CKR_OK) token.fail("C_GenerateRandom", rv);
  return out;
}

}  // namespace idvault::p11
