#include "host/cli/terminal_question.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/cli/cli_error.h"

namespace idvault::cli {

bool ask_yes_no(const std::string& question, const std::string& skip_flag) {
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) throw UsageError("no terminal to ask on: pass " + skip_flag + " to answer yes");
  const std::string text = question + " [y/N] ";
  [[maybe_unused]] ssize_t shown = ::write(tty, text.data(), text.size());
  std::string answer;
  char c = 0;
  for (;;) {
    const ssize_t got = ::read(tty, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || c == '\n' || answer.size() > 64) break;
    answer += c;
  }
  ::close(tty);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

}  // namespace idvault::cli
