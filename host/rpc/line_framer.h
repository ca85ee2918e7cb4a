// Splits a byte stream into '\n'-terminated frames, refusing any frame longer than a
// limit before it is buffered whole, so a client cannot make the agent hold 1 GiB.
//
// Frames may carry PINs and document scans, so every byte the framer lets go of is
// wiped: buffers it outgrows, what compaction leaves behind, what it hands out, and what
// is still buffered when it dies. A frame that is all the framer holds (a large request)
// is handed out by moving the buffer rather than copying it.
//
// A line may be followed by binary attachments (docs/AGENT.md, "Attachments"): once the
// caller has read the sizes a line announced, expect_attachments() turns the next bytes
// of the stream into buffers of exactly those sizes, read straight into wiping memory,
// and the line plus its attachments count against the same frame limit.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"

namespace idvault::rpc {

class LineFramer {
 public:
  explicit LineFramer(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}
  ~LineFramer();
  LineFramer(const LineFramer&) = delete;  // a copy would be one more unwiped secret
  LineFramer& operator=(const LineFramer&) = delete;

  // Appends received bytes. Returns false once the pending frame is over the limit; the
  // framer then stays in that state and the connection should be refused and closed.
  [[nodiscard]] bool feed(std::string_view bytes);

  // The same in two steps, so a socket can be read straight into the framer: space for
  // up to `size` bytes, then commit() of how many were written there.
  [[nodiscard]] std::span<char> receive_space(std::size_t size);
  [[nodiscard]] bool commit(std::size_t received);

  // The next complete frame without its '\n' (and a trailing '\r' is dropped).
  [[nodiscard]] std::optional<std::string> next_frame();

  // After next_frame() handed out a line of line_bytes (without its '\n') that announced
  // attachments of these sizes: the stream's next sum(sizes) bytes are theirs. Returns
  // false, and the framer turns oversized, when the line and its attachments together
  // are over the frame limit. No line is framed until take_attachments() has them.
  [[nodiscard]] bool expect_attachments(std::span<const std::size_t> sizes, std::size_t line_bytes);
  [[nodiscard]] bool awaiting_attachments() const noexcept { return awaiting_; }
  // The attachments once every byte of them arrived (then lines are framed again).
  [[nodiscard]] std::optional<std::vector<SecretBytes>> take_attachments();

  [[nodiscard]] bool oversized() const noexcept { return oversized_; }
  [[nodiscard]] std::size_t buffered() const noexcept { return used_ - consumed_; }

 private:
  void compact() noexcept;
  void find_frames(std::size_t from);
  void fill_attachments(std::span<const char> bytes) noexcept;

  std::size_t max_frame_bytes_;
  std::string buffer_;  // its size is the capacity; [0, used_) holds data
  std::size_t used_ = 0;
  std::size_t consumed_ = 0;       // bytes of buffer_ already handed out (and wiped)
  std::size_t partial_start_ = 0;  // where the frame still missing its '\n' begins
  bool oversized_ = false;

  bool awaiting_ = false;
  std::vector<SecretBytes> attachments_;
  std::size_t filling_ = 0;  // index of the attachment being received
  std::size_t filled_ = 0;   // bytes of it already received
};

}  // namespace idvault::rpc
