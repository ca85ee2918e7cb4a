// Results sealed at rest: what the relying party stores of a received share (the
// decryption report, the signed element errors, the decrypted files) is never in the
// clear in its database, so a dump of it, a backup or a stolen disk holds no personal data.
//
// Each result gets a fresh 32-byte data key (OpenSSL's RAND). Every part of it — the
// report, the errors, each file — is sealed with AES-256-GCM under that key, the
// additional data binding the part to its request's nonce and to what it is ("report",
// "errors", "file/<file id>"), so sealed rows cannot be swapped between parts or results
// without the swap being refused. The data key is wrapped by the service's seal key, an
// AES-256 key on the HSM (vault::TokenMasterKey: CKM_AES_GCM, one encryption, where the
// token has it, else CKM_AES_KEY_WRAP_PAD), and stored beside the sealed parts; reading a
// result unwraps it there. Data keys are wiped after use. A data key wrapped the other
// way (a store from before serve sealed with GCM) does not unwrap: SealedDataDamaged.
//
// A sealed part: 0x01 (the format) || 12-byte IV || ciphertext || 16-byte tag.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "vault/keys/keys.h"

namespace idvault::rp {

// A stored result or file that does not open: altered, truncated, moved to another
// part or result, or sealed under another seal key. Nothing of it is returned.
class SealedDataDamaged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a sealed part is, in its additional data.
[[nodiscard]] std::string report_part();
[[nodiscard]] std::string errors_part();
[[nodiscard]] std::string file_part(std::string_view file_id);

class ResultSealer {
 public:
  // seal_key: the AES key on the HSM that wraps data keys; it must outlive the sealer.
  explicit ResultSealer(const vault::MasterKey& seal_key) : seal_key_(seal_key) {}

  // One result's data key while it is being sealed: fresh, wrapped on the HSM at once.
  class Sealing {
   public:
    [[nodiscard]] vault::Bytes seal(std::string_view part, vault::ByteView plaintext) const;
    [[nodiscard]] const vault::Bytes& wrapped_key() const noexcept { return wrapped_key_; }

   private:
    friend class ResultSealer;
    Sealing(std::string nonce, SecretBytes key, vault::Bytes wrapped)
        : nonce_(std::move(nonce)), key_(std::move(key)), wrapped_key_(std::move(wrapped)) {}
    std::string nonce_;
    SecretBytes key_;
    vault::Bytes wrapped_key_;
  };

  // One result's data key, unwrapped on the HSM, while its parts are read.
  class Opening {
   public:
    // SealedDataDamaged unless sealed is `part` of this result, unaltered.
    [[nodiscard]] SecretBytes open(std::string_view part, vault::ByteView sealed) const;

   private:
    friend class ResultSealer;
    Opening(std::string nonce, SecretBytes key) : nonce_(std::move(nonce)), key_(std::move(key)) {}
    std::string nonce_;
    SecretBytes key_;
  };

  // A fresh data key for the result of the request `nonce`. The HSM's errors propagate.
  [[nodiscard]] Sealing seal_result(std::string nonce) const;
  // The data key of the result of `nonce`: SealedDataDamaged when wrapped_key does not
  // unwrap under the seal key; the HSM's own errors (token gone, ...) propagate.
  [[nodiscard]] Opening open_result(std::string nonce, vault::ByteView wrapped_key) const;

 private:
  const vault::MasterKey& seal_key_;
};

}  // namespace idvault::rp
