// A per-client token bucket for requests that cost the server something lasting (the
// relying party's GET /request stores a row): a client may make `burst` at once, then
// one per `refill_interval`; past that it is told when to come back (429 + Retry-After).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace idvault::http {

struct RequestRateLimit {
  std::size_t burst = 20;
  std::chrono::milliseconds refill_interval{1000};
};

class RequestRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RequestRateLimiter(RequestRateLimit limit);

  // Counts one request from client (an IPv4 address). std::nullopt: go ahead; otherwise
  // the whole seconds until the client may ask again (at least 1).
  [[nodiscard]] std::optional<std::chrono::seconds> take(std::uint32_t client,
                                                         Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  double refilled(const Bucket& bucket, Clock::time_point now) const;

  const RequestRateLimit limit_;
  std::mutex mutex_;
  std::unordered_map<std::uint32_t, Bucket> buckets_;
  Clock::time_point last_sweep_{};
};

}  // namespace idvault::http
