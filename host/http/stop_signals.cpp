#include "host/http/stop_signals.h"

#include <pthread.h>

#include <ctime>
#include <thread>

namespace idvault::http {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

void StopSignals::serve(Server& server, const Chores& chores) const {
  std::thread taker([&] {
    const timespec minute{60, 0};
    while (sigtimedwait(&signals_, nullptr, &minute) < 0) {
      if (chores.every_minute) chores.every_minute();
    }
    if (chores.before_stop) chores.before_stop();
    server.stop();
  });
  if (chores.ready) chores.ready();
  server.run();
  // Wake the signal thread if the server ended on its own.
  // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread): blocked there, taken by its sigtimedwait
  pthread_kill(taker.native_handle(), SIGTERM);
  taker.join();
}

}  // namespace idvault::http
