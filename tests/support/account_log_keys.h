// The RSA keys tests/vault/CMakeLists.txt makes at build time with openssl genpkey
// (slot keys, recovery keys): an RSA-3072 key made in each test process would cost more
// than all the checks, and keys are never committed. folder is where they are: a target
// that reads them depends on account_log_test_keys and is told the folder by the
// compile definition IDVAULT_ACCOUNT_LOG_TEST_KEYS.
#pragma once

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/openssl_owners.h"
#include "vault/keys/keys.h"

namespace idvault::test {

// The PEM of the build-time key name (its private half).
inline std::string account_log_key_pem(const std::filesystem::path& folder,
                                       const std::string& name) {
  const std::filesystem::path path = folder / (name + ".pem");
  std::ifstream in(path);
  EXPECT_TRUE(in) << "no test key " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The SPKI DER of the build-time key name's public half.
inline vault::Bytes account_log_key_spki(const std::filesystem::path& folder,
                                         const std::string& name) {
  const std::string pem = account_log_key_pem(folder, name);
  openssl::Bio bio = openssl::make_memory_bio(pem.data(), pem.size());
  openssl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(key) << name;
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key.get(), &der);
  EXPECT_GT(size, 0);
  openssl::Buffer owned(der);
  return {der, der + size};
}

}  // namespace idvault::test
