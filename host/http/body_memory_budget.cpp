#include "host/http/body_memory_budget.h"

#include <algorithm>

namespace idvault::http {

bool BodyMemoryBudget::Share::resize(std::size_t bytes) noexcept {
  std::lock_guard lock(budget_.mutex_);
  if (bytes > bytes_ && bytes - bytes_ > budget_.limit_ - budget_.used_) return false;
  budget_.used_ = budget_.used_ - bytes_ + bytes;
  bytes_ = bytes;
  return true;
}

bool grow_body_buffer(std::string& body, std::size_t length, BodyMemoryBudget::Share& share) {
  constexpr std::size_t kFirstBuffer = 64 * 1024;
  const std::size_t target =
      std::min(length, std::max({kFirstBuffer, body.capacity() * 2, body.size() + 1}));
  // While the bytes move both buffers exist: charge both, then only the new one.
  if (!share.resize(body.capacity() + target)) return false;
  // A fresh string reserves exactly what it is asked for (growing one in place may round
  // up to twice its capacity, past what was charged).
  {
    std::string grown;
    grown.reserve(target);
    grown.append(body);
    body.swap(grown);
  }
  (void)share.resize(body.capacity());
  return true;
}

}  // namespace idvault::http
