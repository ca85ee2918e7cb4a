// The bar `idvault put` draws on stderr while the agent encrypts and stores large scans.
// On a terminal it redraws one line; elsewhere (a log, a test) it writes a line per step.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace idvault::cli {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::string label, bool terminal)
      : out_(out), label_(std::move(label)), terminal_(terminal) {}
  ~ProgressBar();  // ends a terminal's line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ProgressBar(ProgressBar&&) = delete;  // one bar, on one line, until it ends
  ProgressBar& operator=(ProgressBar&&) = delete;

  void update(std::uint64_t done, std::uint64_t total);

 private:
  std::ostream& out_;
  std::string label_;
  bool terminal_;
  bool drawn_ = false;
};

// "[##########----------]  8.0/16.0 MiB  50%" for a bar of `width` marks.
[[nodiscard]] std::string progress_line(std::uint64_t done, std::uint64_t total, int width);

}  // namespace idvault::cli
