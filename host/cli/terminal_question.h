// A y/N question on the controlling terminal (not stdin, which may be a pipe of data).
#pragma once

#include <string>

namespace idvault::cli {

// True only for an answer starting with y or Y. UsageError when there is no terminal,
// naming the flag that skips the question.
[[nodiscard]] bool ask_yes_no(const std::string& question, const std::string& skip_flag);

}  // namespace idvault::cli
