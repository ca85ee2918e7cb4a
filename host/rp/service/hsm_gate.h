// At most `decryptors` HSM operations of one serve process at once, each waiting at most
// the queue timeout for its turn (then DecryptorsBusy: 503 with Retry-After).
//
// The gate is held only around the HSM call itself. Reading the bundle, the store's
// round trips, the checks, the seal and the commit happen outside it, so while one
// callback talks to the database another uses the HSM session: with the whole callback
// inside the bound, an HSM was kept about 75 % busy (bench_rp_workers, hsm-bound phase).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>

#include "host/rp/service/service_metrics.h"

namespace idvault::rp {

// Every decryptor stayed busy past the queue timeout.
class DecryptorsBusy : public std::runtime_error {
 public:
  DecryptorsBusy() : std::runtime_error("every decryptor is busy") {}
};

class HsmGate {
 public:
  // One turn at the HSM, given back when it goes. Waits for it; throws DecryptorsBusy
  // after the queue timeout.
  class Pass {
   public:
    explicit Pass(HsmGate& gate) : gate_(gate) { gate_.enter(); }
    ~Pass() { gate_.leave(); }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    Pass(Pass&&) = delete;
    Pass& operator=(Pass&&) = delete;

   private:
    HsmGate& gate_;
  };

  // The wait is counted as stage "wait", the turns in use as decryptors_busy.
  HsmGate(std::size_t decryptors, std::chrono::milliseconds queue_timeout, ServiceMetrics& metrics);

 private:
  void enter();
  void leave() noexcept;

  const std::size_t capacity_;
  const std::chrono::milliseconds queue_timeout_;
  ServiceMetrics& metrics_;
  std::mutex mutex_;
  std::condition_variable turn_returned_;
  std::size_t in_use_ = 0;
};

}  // namespace idvault::rp
