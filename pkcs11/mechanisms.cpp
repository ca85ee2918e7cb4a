#include "pkcs11/mechanisms.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>

#include "pkcs11/module.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

struct MechanismName {
  CK_MECHANISM_TYPE type;
  std::string_view name;
};

constexpr auto kMechanismNames = std::to_array<MechanismName>({
    {CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN"},
    {CKM_RSA_PKCS, "CKM_RSA_PKCS"},
    {CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP"},
    {CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS"},
    {CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS"},
    {CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"},
    {CKM_ECDSA, "CKM_ECDSA"},
    {CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256"},
    {CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS"},
    {CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP"},
    {CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN"},
    {CKM_AES_GCM, "CKM_AES_GCM"},
    {CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD"},
    {CKM_SHA_1, "CKM_SHA_1"},
    {CKM_SHA256, "CKM_SHA256"},
});

}  // namespace

std::string mechanism_name(CK_MECHANISM_TYPE mechanism) {
  for (const auto& entry : kMechanismNames) {
    if (entry.type == mechanism) return std::string(entry.name);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKM_0x%lX", static_cast<unsigned long>(mechanism));
  return buf;
}

Capabilities probe_capabilities(Token& token) {
  Capabilities caps;
  const auto info = token.info();
  caps.read_only = (info.flags & CKF_WRITE_PROTECTED) != 0;
  caps.random = (info.flags & CKF_RNG) != 0;

  auto offers = [&](CK_MECHANISM_TYPE type, CK_FLAGS needed) { return token.offers(type, needed); };
  const bool can_create = !caps.read_only;
  caps.aes_keygen =
      can_create && offers(CKM_AES_KEY_GEN, CKF_GENERATE) && token.key_size_ok(CKM_AES_KEY_GEN, 32);
  caps.aes_key_wrap_pad = offers(CKM_AES_KEY_WRAP_PAD, CKF_WRAP);
  caps.unwrap = offers(CKM_AES_KEY_WRAP_PAD, CKF_UNWRAP);
  caps.aes_gcm = offers(CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT);
  caps.rsa_keygen = can_create && offers(CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR);
  caps.rsa_oaep_sha1 = offers(CKM_RSA_PKCS_OAEP, CKF_DECRYPT);
  caps.rsa_oaep_sha256 =
      caps.rsa_oaep_sha1 && offers(CKM_SHA256, 0) && !token.oaep_sha256_rejected();
  caps.rsa_pss = offers(CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN) || offers(CKM_RSA_PKCS_PSS, CKF_SIGN);
  caps.ec_keygen = can_create && offers(CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR);
  caps.ecdsa = offers(CKM_ECDSA, CKF_SIGN);
  return caps;
}

std::string Capabilities::describe() const {
  std::string out;
  auto line = [&](std::string_view name, bool value) {
    out += name;
    out += ": ";
    out += value ? "yes\n" : "no\n";
  };
  line("read_only", read_only);
  line("aes_keygen", aes_keygen);
  line("aes_key_wrap_pad", aes_key_wrap_pad);
  line("unwrap", unwrap);
  line("aes_gcm", aes_gcm);
  line("rsa_keygen", rsa_keygen);
  line("rsa_oaep_sha1", rsa_oaep_sha1);
  line("rsa_oaep_sha256", rsa_oaep_sha256);
  line("rsa_pss", rsa_pss);
  line("ec_keygen", ec_keygen);
  line("ecdsa", ecdsa);
  line("random", random);
  return out;
}

}  // namespace idvault::p11
