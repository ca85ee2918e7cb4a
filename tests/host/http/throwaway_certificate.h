// A self-signed certificate for CN=localhost and its EC P-256 key, made with OpenSSL's
// EVP interface when a test runs and written as PEM into the test's own temp folder: no
// key or certificate is committed.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/openssl_owners.h"

namespace idvault::http::test {

using X509Owner = std::unique_ptr<X509, openssl::FreeWith<&X509_free>>;
using FileOwner = std::unique_ptr<FILE, openssl::FreeWith<&fclose>>;

struct ThrowawayCertificate {
  std::filesystem::path folder;
  std::filesystem::path cert;
  std::filesystem::path key;

  ThrowawayCertificate() {
    std::string pattern = (std::filesystem::temp_directory_path() / "idvault-http-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    folder = pattern;
    cert = folder / "cert.pem";
    key = folder / "key.pem";

    openssl::PKey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    X509Owner x509(X509_new());
    if (!pkey || !x509) throw std::runtime_error("keygen");
    X509_set_version(x509.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(x509.get()), 24 * 3600);
    X509_NAME* name = X509_get_subject_name(x509.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x509.get(), name);
    X509_set_pubkey(x509.get(), pkey.get());
    if (X509_sign(x509.get(), pkey.get(), EVP_sha256()) <= 0) throw std::runtime_error("sign");

    FileOwner cert_file(std::fopen(cert.c_str(), "w"));
    FileOwner key_file(std::fopen(key.c_str(), "w"));
    if (!cert_file || !key_file || PEM_write_X509(cert_file.get(), x509.get()) != 1 ||
        PEM_write_PrivateKey(key_file.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1)
      throw std::runtime_error("writing the PEM files");
  }
  ThrowawayCertificate(const ThrowawayCertificate&) = delete;
  ThrowawayCertificate& operator=(const ThrowawayCertificate&) = delete;
  ~ThrowawayCertificate() {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
};

}  // namespace idvault::http::test
