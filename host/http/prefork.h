// Pre-forked workers sharing one listening socket, and the parent that keeps them running
// (idvault-rp serve --workers N). The parent binds the socket (ListeningSocket) and
// forks; each worker then does what must not be shared across fork (C_Initialize, a
// token login, database connections) and serves on the inherited socket; the kernel
// hands each new connection to one of them.
//
// The parent never runs a worker's code after fork, so nothing it holds is in a state
// only a worker knows (it must not have loaded a PKCS#11 module, nor started threads).
// The first workers start one after another, each once the one before has called ready;
// if one of them dies before that, the parent stops the others and returns 1 (a wrong
// PIN costs one login attempt, as with one process). Then the parent waits for signals:
//  - a worker that dies (a crash, kill -9) or ends on its own is logged and replaced
//    in its slot; after a death within min_uptime of the worker's start the replacement
//    waits a back-off that doubles with each such death in a row (from first_backoff up
//    to max_backoff); after max_rapid_deaths of them in a row the parent stops every
//    worker and returns 1;
//  - SIGTERM or SIGINT: each worker gets SIGTERM (finishing what it is answering), any
//    still there after stop_grace gets SIGKILL; every one is reaped; returns 0;
//  - each worker gets SIGTERM too if the parent dies (PR_SET_PDEATHSIG).
// A worker has SIGINT and SIGTERM blocked, for its own sigwait; other signals are as they
// were before run_prefork. In the parent, run_prefork returns with SIGINT, SIGTERM,
// SIGCHLD and SIGRTMIN blocked: the caller is about to exit.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace idvault::http {

struct PreforkOptions {
  unsigned workers = 2;
  std::string log_name;  // prefix of the parent's log lines, e.g. "idvault-rp serve"
  std::chrono::milliseconds min_uptime{5'000};
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{8'000};
  unsigned max_rapid_deaths = 5;
  std::chrono::milliseconds stop_grace{30'000};
};

struct WorkerSlot {
  unsigned index = 0;  // 0 .. workers - 1; a replacement takes its predecessor's
  // Tells the parent this worker is serving (async-signal-safe; once is enough).
  std::function<void()> ready;
};

// Forks options.workers processes, each running worker(slot) and exiting with its
// result (1, with "log_name: what()" on stderr, when it throws); supervises them as
// above. all_ready runs in the parent once every first worker has called ready (for
// the one "listening on" line). Returns the parent's exit status. Call it from a
// single-threaded process.
[[nodiscard]] int run_prefork(const PreforkOptions& options,
                              const std::function<int(const WorkerSlot&)>& worker,
                              const std::function<void()>& all_ready);

}  // namespace idvault::http
