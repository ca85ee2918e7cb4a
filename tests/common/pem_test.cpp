// Public keys between PEM and SPKI DER (common/pem.h): round trips, and refusal of
// what is not a public key.
#include "common/pem.h"

#include <gtest/gtest.h>

#include <string>

#include "common/format_error.h"

namespace idvault {
namespace {

openssl::PKey generate(const char* type) {
  openssl::PKey key(std::string(type) == "EC"
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  if (!key) throw openssl::OpenSslError("EVP_PKEY_Q_keygen");
  return key;
}

TEST(Pem, RoundTripsPublicKeysThroughDer) {
  for (const char* type : {"EC", "RSA"}) {
    const openssl::PKey key = generate(type);
    const std::string pem = public_key_pem_of(*key);
    EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0U) << type;
    const auto der = spki_der_from_pem(pem, "key");
    EXPECT_EQ(der, spki_der_of(*key)) << type;
    EXPECT_EQ(pem_from_spki_der(der, "key"), pem) << type;
    EXPECT_EQ(EVP_PKEY_eq(public_key_from_pem(pem, "key").get(), key.get()), 1) << type;
  }
}

TEST(Pem, RefusesWhatIsNotAPublicKey) {
  const openssl::PKey key = generate("EC");
  const std::string pem = public_key_pem_of(*key);
  const std::string rsa_pkcs1 = "-----BEGIN RSA PUBLIC KEY-----\n" + pem.substr(27);
  for (const std::string& bad :
       {std::string(), std::string("junk"), rsa_pkcs1, pem.substr(0, pem.size() / 2)}) {
    try {
      (void)spki_der_from_pem(bad, "service.key");
      FAIL() << "accepted " << bad;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.where(), "service.key");
      EXPECT_NE(std::string(e.what()).find("not a PEM public key"), std::string::npos);
    }
  }
}

TEST(Pem, RefusesDerThatIsNotExactlyOneKey) {
  const openssl::PKey key = generate("EC");
  auto der = spki_der_of(*key);
  EXPECT_THROW((void)pem_from_spki_der({}, "k"), FormatError);
  EXPECT_THROW((void)pem_from_spki_der(std::span(der).first(der.size() - 1), "k"), FormatError);
  der.push_back(0);
  EXPECT_THROW((void)pem_from_spki_der(der, "k"), FormatError);
}

}  // namespace
}  // namespace idvault
