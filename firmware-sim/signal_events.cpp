#include "firmware-sim/signal_events.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>
#include <system_error>

#include "firmware-sim/errors.h"

namespace idvault::cardsim {

SignalEvents::SignalEvents() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGUSR1, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    throw CardsimError("pthread_sigmask failed: " + std::system_category().message(rc));
  }
  fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_.valid()) throw CardsimError("signalfd failed: " + std::system_category().message(errno));
}

std::optional<CardEvent> SignalEvents::take() {
  signalfd_siginfo info{};
  const ssize_t n = ::read(fd_.get(), &info, sizeof info);
  if (n != static_cast<ssize_t>(sizeof info)) return std::nullopt;
  if (info.ssi_signo == SIGUSR1) return CardEvent::toggle_presence;
  return CardEvent::stop;
}

}  // namespace idvault::cardsim
