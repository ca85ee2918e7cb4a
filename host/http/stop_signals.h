// How the servers (`idvault-rp serve`, `idvault-cloud`) stop: SIGINT and SIGTERM are
// blocked and taken by one thread with sigtimedwait, never by a handler, so no handler
// runs inside a Cryptoki, libpq or SQLite call. Between signals that thread does the
// server's periodic chores, once a minute.
#pragma once

#include <signal.h>

#include <functional>

#include "host/http/server.h"

namespace idvault::http {

class StopSignals {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread: make it before any other thread, so
  // every thread started afterwards inherits the block.
  StopSignals();

  struct Chores {
    std::function<void()> ready;         // after the signal thread started, before run()
    std::function<void()> every_minute;  // between signals, on the signal thread
    std::function<void()> before_stop;   // on a signal, just before server.stop()
  };
  // Runs server until SIGINT or SIGTERM (or until it ends on its own), doing the chores.
  void serve(Server& server, const Chores& chores) const;

 private:
  sigset_t signals_{};
};

}  // namespace idvault::http
