// In-memory implementations of the vault key interface (vault/keys.h), for tests, tools
// and services that keep their key in a file. Production keys live on a token
// (vault/token_keys.h); these hold theirs in OpenSSL objects in process memory.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/openssl_owners.h"
#include "common/secret_bytes.h"
#include "vault/keys/keys.h"

namespace idvault::vault {

// RSA service key (relying party).
class SoftwareServiceKey final : public ServiceKey {
 public:
  // Any private key PEM OpenSSL reads unencrypted (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1
  // "BEGIN RSA PRIVATE KEY"). Throws FormatError("private_key", ...) if it is not an RSA
  // private key of at least 1024 bits.
  [[nodiscard]] static SoftwareServiceKey from_pem(const SecretBytes& pem);
  [[nodiscard]] static SoftwareServiceKey generate(int bits = 2048);

  [[nodiscard]] SecretBytes decrypt_oaep_sha1(ByteView ciphertext) const override;
  [[nodiscard]] std::string public_key_pem() const override;
  // PKCS#8 PEM, unencrypted: for writing test fixtures.
  [[nodiscard]] SecretBytes private_key_pem() const;

 private:
  explicit SoftwareServiceKey(openssl::PKey key) : key_(std::move(key)) {}
  openssl::PKey key_;
};

// EC P-256 signing key.
class SoftwareSigningKey final : public SigningKey {
 public:
  [[nodiscard]] static SoftwareSigningKey generate();
  // Throws FormatError("private_key", ...) unless the PEM holds a P-256 private key.
  [[nodiscard]] static SoftwareSigningKey from_pem(const SecretBytes& pem);

  [[nodiscard]] Bytes sign_es256(ByteView message) const override;
  [[nodiscard]] Bytes public_key_spki_der() const override;
  [[nodiscard]] SecretBytes private_key_pem() const;

 private:
  explicit SoftwareSigningKey(openssl::PKey key) : key_(std::move(key)) {}
  openssl::PKey key_;
};

// AES-256 master key, wrapping with AES key wrap with padding (RFC 5649), the same
// mechanism the token uses (CKM_AES_KEY_WRAP_PAD).
class SoftwareMasterKey final : public MasterKey {
 public:
  [[nodiscard]] static SoftwareMasterKey generate();
  // Throws FormatError("master_key", ...) unless key is 32 bytes.
  [[nodiscard]] static SoftwareMasterKey from_bytes(SecretBytes key);

  [[nodiscard]] Bytes wrap(const SecretBytes& secret) const override;
  [[nodiscard]] SecretBytes unwrap(ByteView wrapped) const override;

  // The key's pages are locked in RAM (mlock) for the key's life, so the vault key of
  // the asymmetric mode never reaches swap; false if the system refused (RLIMIT_MEMLOCK).
  [[nodiscard]] bool locked_in_memory() const noexcept { return locked_; }

  // The key itself sealed with RSA-OAEP (SHA-1, MGF1-SHA-1) to an RSA public key: how the
  // cloud's key slots hold the vault key, without its bytes leaving this object.
  [[nodiscard]] Bytes seal_oaep_sha1(EVP_PKEY* public_key) const;

  SoftwareMasterKey(SoftwareMasterKey&& other) noexcept
      : key_(std::move(other.key_)), locked_(std::exchange(other.locked_, false)) {}
  SoftwareMasterKey& operator=(SoftwareMasterKey&&) = delete;  // keys are made, not reassigned
  SoftwareMasterKey(const SoftwareMasterKey&) = delete;        // one copy of a key in memory
  SoftwareMasterKey& operator=(const SoftwareMasterKey&) = delete;
  ~SoftwareMasterKey() override;

 private:
  explicit SoftwareMasterKey(SecretBytes key);
  SecretBytes key_;
  bool locked_ = false;
};

}  // namespace idvault::vault
