#include "host/rpc/line_framer.h"

#include <string.h>

#include <algorithm>
#include <cstring>

namespace idvault::rpc {
namespace {

// A frame this large that is all the framer holds is handed out by moving the buffer:
// copying a 21 MiB request line costs more than the allocation a new buffer needs.
constexpr std::size_t kMoveOutFrame = 64u << 10;

}  // namespace

LineFramer::~LineFramer() { ::explicit_bzero(buffer_.data(), used_); }

void LineFramer::compact() noexcept {
  if (consumed_ == 0) return;
  const std::size_t kept = used_ - consumed_;
  std::memmove(buffer_.data(), buffer_.data() + consumed_, kept);
  ::explicit_bzero(buffer_.data() + kept, used_ - kept);  // the stale tail the move left
  used_ = kept;
  partial_start_ -= consumed_;
  consumed_ = 0;
}

std::span<char> LineFramer::receive_space(std::size_t size) {
  if (buffer_.size() - used_ < size) compact();
  if (buffer_.size() - used_ < size) {
    std::string grown(std::max(buffer_.size() * 2, used_ + size), '\0');
    std::memcpy(grown.data(), buffer_.data(), used_);
    ::explicit_bzero(buffer_.data(), used_);
    buffer_.swap(grown);
  }
  return {buffer_.data() + used_, size};
}

bool LineFramer::commit(std::size_t received) {
  if (oversized_) return false;
  const std::size_t from = used_;
  used_ = std::min(used_ + received, buffer_.size());
  // Check the frame being assembled now rather than when it completes, so a sender of
  // an endless line is cut off at the limit, not at memory exhaustion.
  const char* data = buffer_.data();
  for (const void* found = std::memchr(data + from, '\n', used_ - from); found != nullptr;) {
    const auto newline = static_cast<std::size_t>(static_cast<const char*>(found) - data);
    if (newline - partial_start_ > max_frame_bytes_) oversized_ = true;
    partial_start_ = newline + 1;
    found = std::memchr(data + partial_start_, '\n', used_ - partial_start_);
  }
  if (used_ - partial_start_ > max_frame_bytes_) oversized_ = true;
  return !oversized_;
}

bool LineFramer::feed(std::string_view bytes) {
  if (oversized_) return false;
  std::span<char> space = receive_space(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  return commit(bytes.size());
}

std::optional<std::string> LineFramer::next_frame() {
  if (oversized_) return std::nullopt;
  if (consumed_ >= partial_start_) {
    // Only a partial frame is left: commit() has already looked at every byte of it, so
    // there is nothing to search (searching it again on every read was quadratic).
    compact();
    return std::nullopt;
  }
  const char* data = buffer_.data();
  const auto newline = static_cast<std::size_t>(
      static_cast<const char*>(std::memchr(data + consumed_, '\n', partial_start_ - consumed_)) - data);
  std::string frame;
  if (consumed_ == 0 && newline + 1 == used_ && newline >= kMoveOutFrame) {
    frame = std::move(buffer_);
    frame.resize(newline);  // what lay past the newline was never written, or was wiped
    buffer_ = std::string();
    used_ = partial_start_ = 0;
  } else {
    frame.assign(data + consumed_, newline - consumed_);
    ::explicit_bzero(buffer_.data() + consumed_, newline + 1 - consumed_);
    consumed_ = newline + 1;
  }
  if (!frame.empty() && frame.back() == '\r') frame.pop_back();
  return frame;
}

}  // namespace idvault::rpc
