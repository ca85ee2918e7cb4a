// One memory budget for the request bodies all connections are receiving at once. A
// body's buffer grows as its bytes arrive (never reserved from the declared length), and
// each growth is charged here first; when the budget is spent the request is refused
// (503 + Retry-After) instead of the process growing by whatever clients declare.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

namespace idvault::http {

class BodyMemoryBudget {
 public:
  explicit BodyMemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  BodyMemoryBudget(const BodyMemoryBudget&) = delete;  // shares point at it
  BodyMemoryBudget& operator=(const BodyMemoryBudget&) = delete;

  // One request's part of the budget, given back when the share goes.
  class Share {
   public:
    explicit Share(BodyMemoryBudget& budget) noexcept : budget_(budget) {}
    Share(const Share&) = delete;  // gives back exactly once
    Share& operator=(const Share&) = delete;
    ~Share() { (void)resize(0); }
    // Sets this share to bytes; false (and nothing changed) if the budget cannot cover
    // the increase. Shrinking always succeeds.
    [[nodiscard]] bool resize(std::size_t bytes) noexcept;

   private:
    BodyMemoryBudget& budget_;
    std::size_t bytes_ = 0;
  };

 private:
  const std::size_t limit_;
  std::mutex mutex_;
  std::size_t used_ = 0;
};

// Makes room in body for at least one more byte, up to length in all: doubles its
// capacity (from 64 KiB), charging share for the new buffer and the old one while both
// exist. false when the budget is spent (body unchanged).
[[nodiscard]] bool grow_body_buffer(std::string& body, std::size_t length,
                                    BodyMemoryBudget::Share& share);

}  // namespace idvault::http
