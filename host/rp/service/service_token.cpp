#include "host/rp/service/service_token.h"

#include <string>

#include "pkcs11/error.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"

namespace idvault::rp {

ServiceToken ServiceToken::open(const std::filesystem::path& module, std::string_view uri,
                                const SecretBytes& pin) {
  auto token = p11::open_token(uri, module);
  auto login = p11::Login::open(token, pin);
  return ServiceToken(std::move(token), std::move(login));
}

vault::TokenServiceKey ServiceToken::service_key(std::string_view key_uri) const {
  return vault::TokenServiceKey::from_uri(token_, key_uri);
}

vault::TokenSigningKey ServiceToken::signing_key(std::string_view key_uri) const {
  return vault::TokenSigningKey::from_uri(token_, key_uri);
}

vault::TokenMasterKey ServiceToken::seal_key(std::string_view seal_key_uri) const {
  const std::string uri = seal_key_uri.empty()
                              ? std::string("pkcs11:object=") + kDefaultSealKeyLabel
                              : std::string(seal_key_uri);
  try {
    // A seal key of another length (softhsm2-util --import --aes stops reading its file at
    // a 0x00 or newline byte) would be found and then fail every C_WrapKey with
    // CKR_GENERAL_ERROR (or seal nothing): say so once, at start, instead of setting the token
    // aside.
    const auto value_length = p11::find_object(token_, p11::Uri::parse(uri), CKO_SECRET_KEY)
                                  .ulong_attribute(CKA_VALUE_LEN);
    if (value_length != kSealKeyBytes) {
      throw std::runtime_error("the seal key " + uri + " on token '" + token_->label() + "' is " +
                               std::to_string(value_length) +
                               " bytes long; results are sealed under an AES-256 key (" +
                               std::to_string(kSealKeyBytes) + " bytes)");
    }
    // One AES-GCM encryption per result (C_EncryptInit + C_Encrypt, and C_GenerateRandom
    // for its IV) instead of a key wrap, which on SoftHSM2 and many HSMs is a session
    // object created, wrapped and destroyed: the seal was a tenth of serve's CPU per
    // bundle. Key wrap stays for tokens without GCM.
    const auto mode = token_->capabilities().aes_gcm ? vault::TokenMasterKey::Mode::aes_gcm
                                                     : vault::TokenMasterKey::Mode::key_wrap_pad;
    return vault::TokenMasterKey::from_uri(token_, uri, mode);
  } catch (const p11::ObjectNotFound&) {
    throw std::runtime_error(
        "the service's token has no seal key " + uri +
        " (the AES key results are stored sealed under); make it with `idvault-rp keygen "
        "--module SO --token URI --seal-only" +
        (seal_key_uri.empty() ? std::string() : " --seal-label LABEL") + "`");
  }
}

TokenErrorSigningKey::TokenErrorSigningKey(const ServiceToken& token, std::string_view key_uri)
    : key_(p11::find_object(token.token(), p11::Uri::parse(key_uri), CKO_PRIVATE_KEY)),
      spki_der_(p11::spki_der(*p11::public_key_of(key_.object()))) {}

vault::Bytes TokenErrorSigningKey::sign_pss_sha256(vault::ByteView message) const {
  return key_.sign_pss_sha256(message);
}

}  // namespace idvault::rp
