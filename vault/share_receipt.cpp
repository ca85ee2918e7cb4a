#include "vault/share_receipt.h"

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "vault/base64.h"
#include "vault/errors.h"
#include "vault/openssl_owners.h"

namespace idvault::vault {
namespace {

// i2d_* hand out buffers that only OPENSSL_free (a macro) may release.
struct OpenSslFree {
  void operator()(unsigned char* bytes) const noexcept { OPENSSL_free(bytes); }
};
using OpenSslBuffer = std::unique_ptr<unsigned char, OpenSslFree>;

std::string hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 15]);
  }
  return text;
}

Bytes sha256(ByteView bytes) {
  Bytes digest(32);
  unsigned int size = 0;
  openssl::check(EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, openssl::sha256(), nullptr),
                 "EVP_Digest");
  return digest;
}

ByteView view(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string required_string(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) throw FormatError(where + "." + key, "missing or not a string");
  return it->get<std::string>();
}

}  // namespace

std::string canonical_receipt_bytes(const ReceiptFields& fields) {
  nlohmann::json hashes = nlohmann::json::object();
  for (const auto& [type, hash] : fields.element_hashes) hashes[type] = hash;
  // nlohmann::json keeps object keys sorted, which is what makes this canonical.
  nlohmann::json signed_part = {
      {"v", 1},
      {"service_id", fields.service_id},
      {"service_key_sha256", fields.service_key_sha256},
      {"nonce", fields.nonce},
      {"credentials_hash", fields.credentials_hash},
      {"elements", hashes},
      {"time", fields.time},
      {"previous", fields.previous},
  };
  return signed_part.dump(-1, ' ', /*ensure_ascii=*/true);
}

ShareReceipt sign_receipt(ReceiptFields fields, const SigningKey& identity_key) {
  ShareReceipt receipt;
  const std::string bytes = canonical_receipt_bytes(fields);
  receipt.signature = identity_key.sign_es256(view(bytes));
  receipt.public_key_spki_der = identity_key.public_key_spki_der();
  receipt.fields = std::move(fields);
  return receipt;
}

bool verify_receipt(const ShareReceipt& receipt) noexcept {
  try {
    if (receipt.signature.size() != 64) return false;
    const unsigned char* der = receipt.public_key_spki_der.data();
    openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(receipt.public_key_spki_der.size())));
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) return false;
    openssl::EcdsaSig sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(receipt.signature.data(), 32, nullptr);
    BIGNUM* s = BN_bin2bn(receipt.signature.data() + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* der_sig = nullptr;
    int der_size = i2d_ECDSA_SIG(sig.get(), &der_sig);
    if (der_size <= 0) return false;
    OpenSslBuffer owned_sig(der_sig);
    const std::string bytes = canonical_receipt_bytes(receipt.fields);
    openssl::DigestCtx ctx = openssl::make_digest_ctx();
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, openssl::sha256(), nullptr, key.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), der_sig, static_cast<std::size_t>(der_size),
                            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) == 1;
  } catch (...) {
    return false;
  }
}

nlohmann::ordered_json to_json(const ShareReceipt& receipt) {
  nlohmann::ordered_json json;
  json["alg"] = "ES256";
  json["public_key"] = base64_encode(receipt.public_key_spki_der);
  json["signed"] = nlohmann::ordered_json::parse(canonical_receipt_bytes(receipt.fields));
  json["signature"] = base64_encode(receipt.signature);
  return json;
}

ShareReceipt receipt_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw FormatError("receipt", "not a JSON object");
  if (required_string(json, "alg", "receipt") != "ES256") throw FormatError("receipt.alg", "only ES256 is known");
  ShareReceipt receipt;
  receipt.public_key_spki_der = base64_decode(required_string(json, "public_key", "receipt"), "receipt.public_key");
  receipt.signature = base64_decode(required_string(json, "signature", "receipt"), "receipt.signature");
  auto signed_part = json.find("signed");
  if (signed_part == json.end() || !signed_part->is_object()) throw FormatError("receipt.signed", "missing");
  const std::string where = "receipt.signed";
  ReceiptFields& fields = receipt.fields;
  if (signed_part->value("v", 0) != 1) throw FormatError(where + ".v", "unknown receipt version");
  fields.service_id = required_string(*signed_part, "service_id", where);
  fields.service_key_sha256 = required_string(*signed_part, "service_key_sha256", where);
  fields.nonce = required_string(*signed_part, "nonce", where);
  fields.credentials_hash = required_string(*signed_part, "credentials_hash", where);
  fields.previous = required_string(*signed_part, "previous", where);
  auto time = signed_part->find("time");
  if (time == signed_part->end() || !time->is_number_integer()) throw FormatError(where + ".time", "missing");
  fields.time = time->get<std::int64_t>();
  auto elements = signed_part->find("elements");
  if (elements == signed_part->end() || !elements->is_object()) throw FormatError(where + ".elements", "missing");
  for (const auto& [type, hash] : elements->items()) {
    if (!hash.is_string()) throw FormatError(where + ".elements." + type, "not a string");
    fields.element_hashes[type] = hash.get<std::string>();
  }
  return receipt;
}

std::string service_key_fingerprint(std::string_view public_key_pem) {
  openssl::Bio bio = openssl::make_memory_bio(public_key_pem.data(), public_key_pem.size());
  openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw FormatError("public_key", "not a PEM public key (BEGIN PUBLIC KEY)");
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key.get(), &der);
  if (size <= 0) throw FormatError("public_key", "cannot encode the public key");
  OpenSslBuffer owned(der);
  return key_fingerprint(ByteView(der, static_cast<std::size_t>(size)));
}

std::string key_fingerprint(ByteView spki_der) { return hex(sha256(spki_der)); }

std::string receipt_entry_hash(const ShareReceipt& receipt) {
  std::string material = receipt.fields.previous;
  material += canonical_receipt_bytes(receipt.fields);
  material.append(receipt.signature.begin(), receipt.signature.end());
  return hex(sha256(view(material)));
}

}  // namespace idvault::vault
