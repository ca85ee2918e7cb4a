#include "host/http/prefork.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>  // sigabbrev_np
#include <exception>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace idvault::http {
namespace {

using Clock = std::chrono::steady_clock;

// Queued (unlike SIGUSR1), so that workers ready at once are each counted.
int ready_signal() noexcept {
  return SIGRTMIN;
}

struct Slot {
  pid_t pid = 0;  // 0: none running
  Clock::time_point started;
  std::optional<Clock::time_point> restart_at;  // set while waiting to be replaced
};

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return "killed by signal " + std::to_string(WTERMSIG(status)) +
           (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended (status " + std::to_string(status) + ")";
}

[[noreturn]] void run_child(const PreforkOptions& options, pid_t parent, unsigned index,
                            const sigset_t& worker_mask,
                            const std::function<int(const WorkerSlot&)>& worker) {
  int code = 1;
  // Ends with the parent however it ends; the worker's own sigwait takes the SIGTERM.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(1);
  ::pthread_sigmask(SIG_SETMASK, &worker_mask, nullptr);
  try {
    WorkerSlot slot;
    slot.index = index;
    slot.ready = [parent, index] {
      sigval value{};
      value.sival_int = static_cast<int>(index);
      ::sigqueue(parent, ready_signal(), value);
    };
    code = worker(slot);
  } catch (const std::exception& e) {
    std::cerr << options.log_name << ": " << e.what() << std::endl;
  } catch (...) {
    std::cerr << options.log_name << ": worker failed" << std::endl;
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(code);
}

}  // namespace

int run_prefork(const PreforkOptions& options, const std::function<int(const WorkerSlot&)>& worker,
                const std::function<void()>& all_ready) {
  if (options.workers == 0) throw std::invalid_argument("run_prefork: no workers");
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGINT);
  sigaddset(&waited, SIGTERM);
  sigaddset(&waited, SIGCHLD);
  sigaddset(&waited, ready_signal());
  sigset_t before;
  ::pthread_sigmask(SIG_BLOCK, &waited, &before);
  // A worker: the mask from before, with SIGINT and SIGTERM blocked for its sigwait.
  sigset_t worker_mask = before;
  sigaddset(&worker_mask, SIGINT);
  sigaddset(&worker_mask, SIGTERM);
  const pid_t parent = ::getpid();
  const std::string& name = options.log_name;

  std::vector<Slot> slots(options.workers);
  auto start = [&](unsigned index) {
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = ::fork();
    if (pid == 0) run_child(options, parent, index, worker_mask, worker);
    Slot& slot = slots[index];
    slot.restart_at.reset();
    if (pid < 0) {
      std::cerr << name << ": cannot start a worker: " << std::generic_category().message(errno)
                << std::endl;
      slot.pid = 0;
      slot.restart_at = Clock::now() + options.max_backoff;
      return;
    }
    slot.pid = pid;
    slot.started = Clock::now();
  };
  // The first workers start one after another, each once the one before is serving: a
  // wrong PIN then costs one login attempt, not one a worker (a token locks after a few).
  start(0);

  unsigned ready_count = 0;
  bool announced = false;
  unsigned rapid_deaths = 0;
  int result = 0;
  bool stopping = false;
  while (!stopping) {
    auto wait = std::chrono::milliseconds(1000);
    const auto now = Clock::now();
    for (const Slot& slot : slots) {
      if (slot.restart_at)
        wait = std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(*slot.restart_at - now),
            std::chrono::milliseconds(0), wait);
    }
    const timespec timeout{static_cast<time_t>(wait.count() / 1000),
                           static_cast<long>(wait.count() % 1000) * 1'000'000};
    siginfo_t info{};
    const int signal = ::sigtimedwait(&waited, &info, &timeout);
    if (signal == SIGINT || signal == SIGTERM) {
      stopping = true;
    } else if (signal == ready_signal()) {
      if (!announced && ++ready_count >= options.workers) {
        announced = true;
        if (all_ready) all_ready();
      } else if (!announced) {
        start(ready_count);
      }
    }
    // Reap on every wake: SIGCHLDs arriving together are one signal.
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto slot =
          std::find_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.pid == pid; });
      if (slot == slots.end()) continue;
      const auto index = static_cast<unsigned>(slot - slots.begin());
      const auto lived = Clock::now() - slot->started;
      slot->pid = 0;
      if (stopping) continue;
      if (!announced) {
        // Not started yet: the configuration is wrong (the PIN, the key, the database),
        // and a replacement would fail the same way.
        std::cerr << name << ": worker " << index << " (pid " << pid << ") " << describe(status)
                  << " before it was serving; stopping" << std::endl;
        result = 1;
        stopping = true;
        continue;
      }
      std::chrono::milliseconds backoff{0};
      if (lived < options.min_uptime) {
        ++rapid_deaths;
        const auto doubled = std::chrono::duration_cast<std::chrono::milliseconds>(
            options.first_backoff * (1LL << std::min(rapid_deaths - 1, 16u)));
        backoff = std::min(options.max_backoff, doubled);
      } else {
        rapid_deaths = 0;
      }
      std::cerr << name << ": worker " << index << " (pid " << pid << ") " << describe(status);
      if (rapid_deaths >= options.max_rapid_deaths) {
        std::cerr << "; " << rapid_deaths
                  << " workers died soon after starting, in a row: giving up" << std::endl;
        result = 1;
        stopping = true;
        continue;
      }
      std::cerr << "; replacing it"
                << (backoff.count() > 0 ? " in " + std::to_string(backoff.count()) + " ms" : "")
                << std::endl;
      slot->restart_at = Clock::now() + backoff;
    }
    if (stopping) break;
    for (unsigned i = 0; i < options.workers; ++i) {
      if (slots[i].pid == 0 && slots[i].restart_at && *slots[i].restart_at <= Clock::now())
        start(i);
    }
  }

  // Stop: SIGTERM to each, SIGKILL to any left after the grace, reap them all.
  for (const Slot& slot : slots)
    if (slot.pid > 0) ::kill(slot.pid, SIGTERM);
  const auto grace_end = Clock::now() + options.stop_grace;
  bool killed = false;
  auto live = [&] {
    return std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return s.pid > 0; });
  };
  while (live()) {
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (Slot& slot : slots)
        if (slot.pid == pid) slot.pid = 0;
    }
    if (!live()) break;
    if (!killed && Clock::now() >= grace_end) {
      std::cerr << name << ": workers still running after " << options.stop_grace.count() / 1000
                << " s; killing them" << std::endl;
      for (const Slot& slot : slots)
        if (slot.pid > 0) ::kill(slot.pid, SIGKILL);
      killed = true;
    }
    const timespec tick{0, 100'000'000};
    siginfo_t info{};
    (void)::sigtimedwait(&waited, &info, &tick);  // SIGCHLD, or another SIGTERM: same answer
  }
  // The signals stay blocked (a ready signal still queued would end the process with
  // its default action): the caller is about to exit with the result.
  return result;
}

}  // namespace idvault::http
