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

LineFramer::~LineFramer() {
  ::explicit_bzero(buffer_.data(), used_);
}

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
  if (awaiting_ && filling_ < attachments_.size()) {
    // Straight into the attachment's own wiping buffer, never past its announced end.
    std::span<std::uint8_t> rest = attachments_[filling_].reveal_mutable().subspan(filled_);
    return {reinterpret_cast<char*>(rest.data()), std::min(size, rest.size())};
  }
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
  if (awaiting_ && filling_ < attachments_.size()) {
    filled_ += std::min(received, attachments_[filling_].size() - filled_);
    while (filling_ < attachments_.size() && filled_ == attachments_[filling_].size()) {
      ++filling_;
      filled_ = 0;
    }
    return true;
  }
  const std::size_t from = used_;
  used_ = std::min(used_ + received, buffer_.size());
  find_frames(from);
  return !oversized_;
}

void LineFramer::find_frames(std::size_t from) {
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
}

bool LineFramer::expect_attachments(std::span<const std::size_t> sizes, std::size_t line_bytes) {
  if (oversized_) return false;
  std::size_t total = line_bytes;
  for (std::size_t size : sizes) {
    if (size > max_frame_bytes_ || total + size > max_frame_bytes_) {
      oversized_ = true;
      return false;
    }
    total += size;
  }
  attachments_.clear();
  for (std::size_t size : sizes) attachments_.push_back(SecretBytes::for_overwrite(size));
  awaiting_ = true;
  filling_ = filled_ = 0;
  while (filling_ < attachments_.size() && attachments_[filling_].empty()) ++filling_;
  // What was read past the line already belongs to the attachments: move it there and
  // wipe it here. commit() looked at those bytes as if they were lines, so whatever
  // follows the attachments is searched for lines again.
  std::size_t taken = consumed_;
  while (filling_ < attachments_.size() && taken < used_) {
    std::span<std::uint8_t> rest = attachments_[filling_].reveal_mutable().subspan(filled_);
    const std::size_t n = std::min(rest.size(), used_ - taken);
    std::memcpy(rest.data(), buffer_.data() + taken, n);
    taken += n;
    filled_ += n;
    while (filling_ < attachments_.size() && filled_ == attachments_[filling_].size()) {
      ++filling_;
      filled_ = 0;
    }
  }
  ::explicit_bzero(buffer_.data() + consumed_, taken - consumed_);
  consumed_ = taken;
  partial_start_ = taken;
  compact();
  find_frames(0);
  return !oversized_;
}

std::optional<std::vector<SecretBytes>> LineFramer::take_attachments() {
  if (!awaiting_ || filling_ < attachments_.size()) return std::nullopt;
  awaiting_ = false;
  std::vector<SecretBytes> done = std::move(attachments_);
  attachments_.clear();
  return done;
}

bool LineFramer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (oversized_) return false;
    // An attachment takes at most its own size; the rest goes to the next or to lines.
    std::span<char> space = receive_space(bytes.size());
    std::memcpy(space.data(), bytes.data(), space.size());
    if (!commit(space.size())) return false;
    bytes.remove_prefix(space.size());
  }
  return !oversized_;
}

std::optional<std::string> LineFramer::next_frame() {
  if (oversized_ || awaiting_) return std::nullopt;
  if (consumed_ >= partial_start_) {
    // Only a partial frame is left: commit() has already looked at every byte of it, so
    // there is nothing to search (searching it again on every read was quadratic).
    compact();
    return std::nullopt;
  }
  const char* data = buffer_.data();
  const auto newline = static_cast<std::size_t>(
      static_cast<const char*>(std::memchr(data + consumed_, '\n', partial_start_ - consumed_)) -
      data);
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
