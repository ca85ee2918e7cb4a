// Move-only owners for the OpenSSL objects the simulator holds. Every *_free call in
// firmware-sim lives here, in a noexcept deleter.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace idvault::cardsim {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const noexcept { Free(p); }
};

namespace detail {
inline void free_bio(BIO* b) {
  BIO_free(b);
}
}  // namespace detail

using PkeyOwner = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxOwner = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using X509Owner = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509NameOwner = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using BioOwner = std::unique_ptr<BIO, OpenSslDeleter<BIO, detail::free_bio>>;
using BignumOwner = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;

}  // namespace idvault::cardsim
