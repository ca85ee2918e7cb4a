#include "common/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/format_error.h"

namespace idvault {
namespace {

// A public key PEM never needs one; without this callback OpenSSL would prompt on the
// terminal for a passphrase if handed an encrypted private key.
int refuse_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return -1;
}

}  // namespace

openssl::PKey public_key_from_pem(std::string_view pem, std::string_view where) {
  const openssl::Bio bio = openssl::make_memory_bio(pem.data(), pem.size());
  openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, &refuse_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    throw FormatError(std::string(where), "not a PEM public key (BEGIN PUBLIC KEY)");
  }
  return key;
}

std::vector<std::uint8_t> spki_der_of(const EVP_PKEY& key) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(&key, &der);
  const openssl::Buffer owned(der);
  if (size <= 0) throw openssl::OpenSslError("i2d_PUBKEY");
  return std::vector<std::uint8_t>(der, der + size);
}

std::string public_key_pem_of(const EVP_PKEY& key) {
  const openssl::Bio bio = openssl::make_memory_bio();
  openssl::check(PEM_write_bio_PUBKEY(bio.get(), &key), "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<std::uint8_t> spki_der_from_pem(std::string_view pem, std::string_view where) {
  const openssl::PKey key = public_key_from_pem(pem, where);
  try {
    return spki_der_of(*key);
  } catch (const openssl::OpenSslError&) {
    throw FormatError(std::string(where), "cannot encode the public key");
  }
}

std::string pem_from_spki_der(std::span<const std::uint8_t> spki_der, std::string_view where) {
  const unsigned char* cursor = spki_der.data();
  const openssl::PKey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(spki_der.size())));
  if (!key || cursor != spki_der.data() + spki_der.size()) {
    ERR_clear_error();
    throw FormatError(std::string(where), "not a DER SubjectPublicKeyInfo");
  }
  return public_key_pem_of(*key);
}

}  // namespace idvault
