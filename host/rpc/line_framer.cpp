#include "host/rpc/line_framer.h"

namespace idvault::rpc {

bool LineFramer::feed(std::string_view bytes) {
  if (oversized_) return false;
  std::size_t pos = buffer_.size();
  buffer_.append(bytes);
  // Check the frame being assembled now rather than when it completes, so a sender of
  // an endless line is cut off at the limit, not at memory exhaustion.
  for (std::size_t newline = buffer_.find('\n', pos); newline != std::string::npos;
       newline = buffer_.find('\n', newline + 1)) {
    if (newline - partial_start_ > max_frame_bytes_) oversized_ = true;
    partial_start_ = newline + 1;
  }
  if (buffer_.size() - partial_start_ > max_frame_bytes_) oversized_ = true;
  return !oversized_;
}

std::optional<std::string> LineFramer::next_frame() {
  if (oversized_) return std::nullopt;
  std::size_t newline = buffer_.find('\n', consumed_);
  if (newline == std::string::npos) {
    // Compact so a long-lived connection does not grow its buffer forever.
    buffer_.erase(0, consumed_);
    partial_start_ -= consumed_;
    consumed_ = 0;
    return std::nullopt;
  }
  std::string frame = buffer_.substr(consumed_, newline - consumed_);
  consumed_ = newline + 1;
  if (!frame.empty() && frame.back() == '\r') frame.pop_back();
  return frame;
}

}  // namespace idvault::rpc
