#include "host/rp/service/hsm_gate.h"

namespace idvault::rp {

HsmGate::HsmGate(std::size_t decryptors, std::chrono::milliseconds queue_timeout,
                 ServiceMetrics& metrics)
    : capacity_(decryptors == 0 ? 1 : decryptors),
      queue_timeout_(queue_timeout < std::chrono::milliseconds(1) ? std::chrono::milliseconds(1)
                                                                  : queue_timeout),
      metrics_(metrics) {}

void HsmGate::enter() {
  const auto asked = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  const bool free =
      turn_returned_.wait_until(lock, asked + queue_timeout_, [&] { return in_use_ < capacity_; });
  metrics_.stage_seconds.with({"wait"}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
  if (!free) throw DecryptorsBusy();
  ++in_use_;
  metrics_.decryptors_busy.inc();
}

void HsmGate::leave() noexcept {
  {
    const std::lock_guard lock(mutex_);
    --in_use_;
  }
  metrics_.decryptors_busy.dec();
  turn_returned_.notify_one();
}

}  // namespace idvault::rp
