// What idvault-rp serve counts for GET /metrics, beside the HTTP layer's requests by route
// and status: HSM operations and their errors by class, bundles accepted and refused (by
// reason), replays refused, the decryptor pool's occupancy and the time per stage of a
// POST /callback (wait for a decryptor, HSM, decrypt, commit). No label ever carries a
// value a client chose.
#pragma once

#include "host/http/metrics.h"
#include "vault/keys/keys.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::rp {

class HsmGate;

struct ServiceMetrics {
  // Registers the families in registry (which must outlive this).
  explicit ServiceMetrics(http::MetricsRegistry& registry);

  http::MetricsRegistry& registry;
  http::Family<http::Counter>& hsm_operations;  // {operation}: decrypt, sign
  http::Family<http::Counter>& hsm_errors;      // {operation, class}: pkcs11 ErrorClass, or
                                                // "refused" for a ciphertext the key refused
  http::Counter& bundles_accepted;
  http::Family<http::Counter>& bundles_refused;  // {reason}
  http::Counter& replays_refused;                // also in bundles_refused{reason="replay"}
  http::Family<http::Histogram>& stage_seconds;  // {stage}: wait, hsm, decrypt, commit
  http::Gauge& decryptors_busy;

  // A refused bundle: counted by reason (and as a replay for "replay").
  void refused(const char* reason);
};

// The service key with every call made through the HSM gate (hsm_gate.h), counted and
// timed (operation "decrypt", stage "hsm").
class MeteredServiceKey final : public vault::ServiceKey {
 public:
  MeteredServiceKey(const vault::ServiceKey& key, ServiceMetrics& metrics, HsmGate& gate)
      : key_(key), metrics_(metrics), gate_(gate) {}
  [[nodiscard]] SecretBytes decrypt_oaep_sha1(vault::ByteView ciphertext) const override;
  [[nodiscard]] std::string public_key_pem() const override { return key_.public_key_pem(); }

 private:
  const vault::ServiceKey& key_;
  ServiceMetrics& metrics_;
  HsmGate& gate_;
};

// The error-signing key, the same way (operation "sign").
class MeteredErrorSigningKey final : public vault::ErrorSigningKey {
 public:
  MeteredErrorSigningKey(const vault::ErrorSigningKey& key, ServiceMetrics& metrics, HsmGate& gate)
      : key_(key), metrics_(metrics), gate_(gate) {}
  [[nodiscard]] vault::Bytes sign_pss_sha256(vault::ByteView message) const override;
  [[nodiscard]] vault::Bytes public_key_spki_der() const override {
    return key_.public_key_spki_der();
  }

 private:
  const vault::ErrorSigningKey& key_;
  ServiceMetrics& metrics_;
  HsmGate& gate_;
};

}  // namespace idvault::rp
