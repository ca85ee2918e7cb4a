// Splits a byte stream into '\n'-terminated frames, refusing any frame longer than a
// limit before it is buffered whole, so a client cannot make the agent hold 1 GiB.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace idvault::rpc {

class LineFramer {
 public:
  explicit LineFramer(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes. Returns false once the pending frame is over the limit; the
  // framer then stays in that state and the connection should be refused and closed.
  [[nodiscard]] bool feed(std::string_view bytes);

  // The next complete frame without its '\n' (and a trailing '\r' is dropped).
  [[nodiscard]] std::optional<std::string> next_frame();

  [[nodiscard]] bool oversized() const noexcept { return oversized_; }
  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;       // bytes of buffer_ already handed out
  std::size_t partial_start_ = 0;  // where the frame still missing its '\n' begins
  bool oversized_ = false;
};

}  // namespace idvault::rpc
