// SignalEvents: SIGUSR1 toggles card presence, SIGTERM/SIGINT/SIGHUP stop the simulator.
// Uses signalfd, so signals are handled in the event loop rather than in a handler.
#pragma once

#include "firmware-sim/card_events.h"
#include "firmware-sim/unique_fd.h"

namespace idvault::cardsim {

class SignalEvents final : public CardEventSource {
 public:
  // Blocks the signals for the calling thread (call before starting any thread).
  SignalEvents();
  [[nodiscard]] int fd() const override { return fd_.get(); }
  [[nodiscard]] std::optional<CardEvent> take() override;

 private:
  UniqueFd fd_;
};

}  // namespace idvault::cardsim
