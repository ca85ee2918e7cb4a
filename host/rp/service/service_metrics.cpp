#include "host/rp/service/service_metrics.h"

#include <chrono>
#include <string>

#include "host/rp/service/hsm_gate.h"
#include "pkcs11/error.h"
#include "vault/model/errors.h"

namespace idvault::rp {

namespace {

// Runs call in a turn at the gate, counting it as operation and its failure by class;
// times it (without the wait for the turn) as stage "hsm".
template <typename Call>
auto metered(ServiceMetrics& metrics, HsmGate& gate, const char* operation, Call&& call) {
  const HsmGate::Pass turn(gate);
  const auto started = std::chrono::steady_clock::now();
  const auto observe = [&] {
    metrics.stage_seconds.with({"hsm"}).observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  metrics.hsm_operations.with({operation}).inc();
  try {
    auto result = call();
    observe();
    return result;
  } catch (const p11::Pkcs11Error& e) {
    observe();
    metrics.hsm_errors.with({operation, std::string(p11::to_string(e.error_class()))}).inc();
    throw;
  } catch (const vault::DecryptError&) {
    observe();
    metrics.hsm_errors.with({operation, "refused"}).inc();
    throw;
  }
}

}  // namespace

ServiceMetrics::ServiceMetrics(http::MetricsRegistry& metrics_registry)
    : registry(metrics_registry),
      hsm_operations(registry.counter("idvault_rp_hsm_operations_total",
                                      "Operations asked of the service's HSM", {"operation"})),
      hsm_errors(registry.counter("idvault_rp_hsm_errors_total",
                                  "HSM operations that failed, by PKCS#11 error class",
                                  {"operation", "class"})),
      bundles_accepted(
          registry.counter("idvault_rp_bundles_accepted_total", "Share bundles accepted").get()),
      bundles_refused(registry.counter("idvault_rp_bundles_refused_total",
                                       "Share bundles refused, by reason", {"reason"})),
      replays_refused(registry
                          .counter("idvault_rp_replays_refused_total",
                                   "Bundles refused because their request was already answered")
                          .get()),
      stage_seconds(registry.histogram("idvault_rp_stage_seconds",
                                       "Time per stage of a POST /callback", {"stage"})),
      decryptors_busy(
          registry.gauge("idvault_rp_decryptors_busy", "Decryptors (HSM sessions) in use").get()) {}

void ServiceMetrics::refused(const char* reason) {
  bundles_refused.with({reason}).inc();
  if (std::string_view(reason) == "replay") replays_refused.inc();
}

SecretBytes MeteredServiceKey::decrypt_oaep_sha1(vault::ByteView ciphertext) const {
  return metered(metrics_, gate_, "decrypt", [&] { return key_.decrypt_oaep_sha1(ciphertext); });
}

vault::Bytes MeteredErrorSigningKey::sign_pss_sha256(vault::ByteView message) const {
  return metered(metrics_, gate_, "sign", [&] { return key_.sign_pss_sha256(message); });
}

}  // namespace idvault::rp
