// What the outside world can do to a running simulator besides talk APDUs: pull or
// reinsert the card, or stop it. main() feeds these from signals (signal_events.h);
// tests feed them from a pipe.
#pragma once

#include <optional>

namespace idvault::cardsim {

enum class CardEvent {
  toggle_presence,  // pull the card if it is in, reinsert it if it is out
  stop,
};

class CardEventSource {
 public:
  CardEventSource() = default;
  CardEventSource(const CardEventSource&) = delete;
  CardEventSource& operator=(const CardEventSource&) = delete;
  CardEventSource(CardEventSource&&) = delete;  // owns a descriptor the event loop polls
  CardEventSource& operator=(CardEventSource&&) = delete;
  virtual ~CardEventSource() = default;

  // Readable (poll POLLIN) when an event is waiting.
  [[nodiscard]] virtual int fd() const = 0;
  // Takes one waiting event; nullopt if there was none after all.
  [[nodiscard]] virtual std::optional<CardEvent> take() = 0;
};

}  // namespace idvault::cardsim
