#include "host/cloud/server/slot_ciphertext.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/openssl_owners.h"

namespace idvault::cloud {

std::size_t slot_ciphertext_size(const std::vector<std::uint8_t>& spki_der) {
  const unsigned char* der = spki_der.data();
  const openssl::PKey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki_der.size())));
  if (!key || EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    ERR_clear_error();
    return 0;
  }
  const int size = EVP_PKEY_get_size(key.get());
  return size > 0 ? static_cast<std::size_t>(size) : 0;
}

}  // namespace idvault::cloud
