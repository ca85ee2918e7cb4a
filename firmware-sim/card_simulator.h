// CardSimulator: one simulated card in one vpcd slot. It connects to vpcd (insertion),
// answers control bytes and APDUs through the PivApplet, injects faults, and closes the
// connection to model removal — on a fault, on SIGUSR1, or when vpcd goes away.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "firmware-sim/card_events.h"
#include "firmware-sim/faults.h"
#include "firmware-sim/piv_applet.h"
#include "firmware-sim/vpcd_link.h"

namespace idvault::cardsim {

struct SimulatorOptions {
  VpcdEndpoint vpcd;
  FaultPlan faults;
  // After a fault removal or vpcd closing the link: reinsert after reinsert_after.
  // Without it, a pulled card stays out until a toggle event; a vpcd that goes away ends
  // the run with an error.
  bool reconnect = false;
  std::chrono::milliseconds reinsert_after{1000};
  // How long an insertion keeps retrying while nobody listens on the vpcd port.
  std::chrono::milliseconds connect_timeout{10000};
};

class CardSimulator {
 public:
  CardSimulator(PivApplet& applet, SimulatorOptions options, CardEventSource& events);

  // Serves the card until a stop event. Throws CardsimError when vpcd cannot be reached
  // within connect_timeout, or vpcd closed the link and reconnect is off.
  void run();

  [[nodiscard]] std::uint64_t apdus_seen() const { return faults_.apdus_seen(); }

 private:
  // Waits up to `timeout` (forever if absent) for an outside event and acts on it.
  void wait_for_event(std::optional<std::chrono::milliseconds> timeout);
  void handle(CardEvent event);
  void insert();
  void pull(const std::string& why);
  void link_lost();
  void serve_frame();
  void answer_apdu(const Bytes& command);

  PivApplet& applet_;
  SimulatorOptions options_;
  CardEventSource& events_;
  FaultInjector faults_;
  std::optional<VpcdLink> link_;
  bool stop_requested_ = false;
  bool want_inserted_ = true;
  std::optional<std::chrono::steady_clock::time_point> reinsert_at_;
};

}  // namespace idvault::cardsim
