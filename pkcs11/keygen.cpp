#include "pkcs11/keygen.h"

#include <vector>

#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

// DER of OID 1.2.840.10045.3.1.7 (prime256v1), the CKA_EC_PARAMS of P-256.
const std::uint8_t kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

// Attributes every key we make carries: where it lives, its name, its id.
struct CommonAttributes {
  CK_BBOOL on_token;
  std::vector<CK_ATTRIBUTE> list;
  explicit CommonAttributes(const KeySpec& spec) : on_token(spec.on_token ? CK_TRUE : CK_FALSE) {
    list.push_back({CKA_TOKEN, &on_token, sizeof on_token});
    list.push_back({CKA_LABEL, const_cast<char*>(spec.label.data()), spec.label.size()});
    if (!spec.id.empty())
      list.push_back({CKA_ID, const_cast<std::uint8_t*>(spec.id.data()), spec.id.size()});
  }
};

void add(std::vector<CK_ATTRIBUTE>& list, CK_ATTRIBUTE_TYPE type, CK_BBOOL& value) {
  list.push_back({type, &value, sizeof value});
}

void require_writable(Token& token, const char* what) {
  if (token.write_protected()) {
    throw UnsupportedMechanism(token.label(), std::string(what) + ": the token is read-only",
                               CKR_TOKEN_WRITE_PROTECTED, "C_GenerateKey");
  }
}

KeyPair generate_pair(const std::shared_ptr<Token>& token, CK_MECHANISM_TYPE mechanism_type,
                      std::vector<CK_ATTRIBUTE> public_template,
                      std::vector<CK_ATTRIBUTE> private_template) {
  CK_MECHANISM mechanism{mechanism_type, nullptr, 0};
  CK_OBJECT_HANDLE public_handle = 0;
  CK_OBJECT_HANDLE private_handle = 0;
  auto session = token->sessions().acquire();
  token->check(IDVAULT_P11_FN(C_GenerateKeyPair), session.handle(), &mechanism,
               public_template.data(), static_cast<CK_ULONG>(public_template.size()),
               private_template.data(), static_cast<CK_ULONG>(private_template.size()),
               &public_handle, &private_handle);
  return KeyPair{Object(token, public_handle), Object(token, private_handle)};
}

std::vector<CK_ATTRIBUTE> private_key_base(const CommonAttributes& common) {
  std::vector<CK_ATTRIBUTE> list = common.list;
  add(list, CKA_PRIVATE, kTrue);
  add(list, CKA_SENSITIVE, kTrue);
  add(list, CKA_EXTRACTABLE, kFalse);
  return list;
}

}  // namespace

KeyPair generate_rsa_key_pair(const std::shared_ptr<Token>& token, CK_ULONG bits,
                              const KeySpec& spec) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    throw BadArgument("C_GenerateKeyPair", token->label(),
                      "RSA keys must have 2048, 3072 or 4096 bits, not " + std::to_string(bits));
  }
  require_writable(*token, "RSA key generation");
  token->require(CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "RSA key generation");
  CommonAttributes common(spec);
  CK_BYTE exponent[] = {0x01, 0x00, 0x01};

  auto public_template = common.list;
  public_template.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
  public_template.push_back({CKA_PUBLIC_EXPONENT, exponent, sizeof exponent});
  add(public_template, CKA_ENCRYPT, kTrue);
  add(public_template, CKA_VERIFY, kTrue);
  add(public_template, CKA_WRAP, kTrue);

  auto private_template = private_key_base(common);
  add(private_template, CKA_DECRYPT, kTrue);
  add(private_template, CKA_SIGN, kTrue);
  add(private_template, CKA_UNWRAP, kTrue);
  return generate_pair(token, CKM_RSA_PKCS_KEY_PAIR_GEN, std::move(public_template),
                       std::move(private_template));
}

KeyPair generate_ec_p256_key_pair(const std::shared_ptr<Token>& token, const KeySpec& spec) {
  require_writable(*token, "EC key generation");
  token->require(CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "EC key generation");
  CommonAttributes common(spec);

  auto public_template = common.list;
  public_template.push_back(
      {CKA_EC_PARAMS, const_cast<std::uint8_t*>(kP256Params), sizeof kP256Params});
  add(public_template, CKA_VERIFY, kTrue);

  auto private_template = private_key_base(common);
  add(private_template, CKA_SIGN, kTrue);
  return generate_pair(token, CKM_EC_KEY_PAIR_GEN, std::move(public_template),
                       std::move(private_template));
}

Object generate_aes256_key(const std::shared_ptr<Token>& token, const KeySpec& spec) {
  require_writable(*token, "AES key generation");
  token->require(CKM_AES_KEY_GEN, CKF_GENERATE, "AES key generation");
  CommonAttributes common(spec);
  CK_ULONG length = 32;
  CK_OBJECT_CLASS object_class = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = CKK_AES;

  auto key_template = private_key_base(common);
  key_template.push_back({CKA_CLASS, &object_class, sizeof object_class});
  key_template.push_back({CKA_KEY_TYPE, &key_type, sizeof key_type});
  key_template.push_back({CKA_VALUE_LEN, &length, sizeof length});
  add(key_template, CKA_ENCRYPT, kTrue);
  add(key_template, CKA_DECRYPT, kTrue);
  add(key_template, CKA_WRAP, kTrue);
  add(key_template, CKA_UNWRAP, kTrue);

  CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE handle = 0;
  auto session = token->sessions().acquire();
  token->check(IDVAULT_P11_FN(C_GenerateKey), session.handle(), &mechanism, key_template.data(),
               static_cast<CK_ULONG>(key_template.size()), &handle);
  return Object(token, handle);
}

}  // namespace idvault::p11
