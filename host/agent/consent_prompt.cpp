#include "host/agent/consent_prompt.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "host/rpc/file_descriptor.h"

extern char** environ;

namespace idvault::agent {
namespace {

// The prompt inherits nothing of ours but a minimal environment: no PINs or tokens can
// reach it through variables, and LISTEN_* never leak to it.
std::vector<std::string> prompt_environment() {
  std::vector<std::string> kept;
  for (const char* name :
       {"PATH", "HOME", "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "LANG", "TERM"}) {
    if (const char* value = std::getenv(name)) kept.push_back(std::string(name) + "=" + value);
  }
  return kept;
}

// A prompt that exits without reading its input makes the write raise SIGPIPE, which
// would kill whatever process hosts the agent. Block it on this thread for the write and
// take back any SIGPIPE it raised, without touching the process-wide disposition.
void write_ignoring_sigpipe(int fd, const std::string& bytes) {
  sigset_t pipe_only;
  sigset_t previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  [[maybe_unused]] ssize_t written = ::write(fd, bytes.data(), bytes.size());
  if (written < 0 && errno == EPIPE) {
    timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace

bool ConsentPrompt::ask(const ConsentRequest& request) const {
  if (program_.empty()) return false;
  int to_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return false;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  std::vector<std::string> env_storage = prompt_environment();
  std::vector<char*> env;
  for (auto& entry : env_storage) env.push_back(entry.data());
  env.push_back(nullptr);
  std::string program = program_;
  std::string generic = kConsentArgument;
  char* argv[] = {program.data(), generic.data(), nullptr};
  pid_t child = -1;
  int spawned = ::posix_spawnp(&child, program.c_str(), &actions, nullptr, argv, env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  if (spawned != 0) {
    ::close(to_child[1]);
    return false;
  }

  // A prompt that does not read its input must not block us: write what fits, then go on.
  ::fcntl(to_child[1], F_SETFL, O_NONBLOCK);
  nlohmann::json input = request.details;
  input["summary"] = request.summary;
  std::string details = input.dump() + "\n";
  write_ignoring_sigpipe(to_child[1], details);
  ::close(to_child[1]);

  auto deadline = std::chrono::steady_clock::now() + timeout_;
  // Woken the moment the prompt exits (a pidfd polls readable then): sleeping 20 ms
  // between checks was most of an authorize's latency when the answer came at once.
  // Without pidfds (a kernel before 5.3) the checks stay 20 ms apart.
  const rpc::FileDescriptor exited(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) return false;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return false;
    }
    const auto wait_ms = std::min<long long>(
        exited.get() >= 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1
                          : 20,
        60'000);
    if (exited.get() >= 0) {
      pollfd on_exit{exited.get(), POLLIN, 0};
      (void)::poll(&on_exit, 1, static_cast<int>(wait_ms));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace idvault::agent
