#include "host/http/request_rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace idvault::http {
namespace {

// Past this many remembered clients, those whose bucket has filled up again are forgotten
// (a full bucket is what a new client gets), so the table holds only the clients of the
// last burst x refill_interval. At most one sweep per refill interval: a sweep per request
// would make a flood from many addresses quadratic.
constexpr std::size_t kForgetFullBucketsAbove = 4096;

}  // namespace

RequestRateLimiter::RequestRateLimiter(RequestRateLimit limit) : limit_(limit) {
  if (limit_.burst == 0 || limit_.refill_interval.count() <= 0)
    throw std::invalid_argument("a request rate needs a burst and a refill interval");
}

double RequestRateLimiter::refilled(const Bucket& bucket, Clock::time_point now) const {
  const double earned = std::chrono::duration<double>(now - bucket.updated) /
                        std::chrono::duration<double>(limit_.refill_interval);
  return std::min(static_cast<double>(limit_.burst), bucket.tokens + std::max(0.0, earned));
}

std::optional<std::chrono::seconds> RequestRateLimiter::take(std::uint32_t client,
                                                             Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() > kForgetFullBucketsAbove && now - last_sweep_ >= limit_.refill_interval) {
    last_sweep_ = now;
    std::erase_if(buckets_, [&](const auto& entry) {
      return refilled(entry.second, now) >= static_cast<double>(limit_.burst);
    });
  }
  auto [it, added] = buckets_.try_emplace(client, Bucket{static_cast<double>(limit_.burst), now});
  Bucket& bucket = it->second;
  bucket.tokens = refilled(bucket, now);
  bucket.updated = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  const auto wait = std::chrono::duration<double>(limit_.refill_interval) * (1.0 - bucket.tokens);
  return std::chrono::seconds(
      std::max<long long>(1, static_cast<long long>(std::ceil(wait.count()))));
}

}  // namespace idvault::http
