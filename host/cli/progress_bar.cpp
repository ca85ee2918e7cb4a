#include "host/cli/progress_bar.h"

#include <algorithm>
#include <cstdio>

namespace idvault::cli {

std::string progress_line(std::uint64_t done, std::uint64_t total, int width) {
  done = std::min(done, total);
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int marks = static_cast<int>(fraction * width);
  std::string bar = "[" + std::string(static_cast<std::size_t>(marks), '#') +
                    std::string(static_cast<std::size_t>(width - marks), '-') + "]";
  char figures[64];
  std::snprintf(figures, sizeof figures, " %5.1f/%.1f MiB %3d%%",
                static_cast<double>(done) / (1 << 20), static_cast<double>(total) / (1 << 20),
                static_cast<int>(fraction * 100));
  return bar + figures;
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  const std::string line = label_ + " " + progress_line(done, total, 30);
  if (terminal_) {
    out_ << "\r" << line << std::flush;
  } else {
    out_ << line << "\n" << std::flush;
  }
  drawn_ = true;
}

ProgressBar::~ProgressBar() {
  if (terminal_ && drawn_) out_ << "\n" << std::flush;
}

}  // namespace idvault::cli
