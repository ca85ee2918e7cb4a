// Fault injection: how the simulated card misbehaves on purpose, so the agent's handling
// of pulled, slow and failing cards can be tested.
//
//   remove-after=N  after answering the Nth APDU the card is pulled (the vpcd connection
//                   closes). One-shot per run: after reinsertion the card stays in.
//   delay-ms=N      every APDU is answered N ms late (a slow card); 0..60000.
//   error-after=N   every APDU after the Nth is answered 6F00 (a failing card).
//
// APDUs are counted from the start of the run, across reinsertions; control bytes
// (power, reset, ATR) are not APDUs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace idvault::cardsim {

struct FaultPlan {
  std::optional<std::uint64_t> remove_after;
  std::optional<std::uint64_t> error_after;
  std::chrono::milliseconds delay{0};
};

// Parses --fault values ("remove-after=3", ...). Throws CardsimError naming the bad one.
[[nodiscard]] FaultPlan parse_faults(const std::vector<std::string>& specs);

class FaultInjector {
 public:
  explicit FaultInjector(FaultPlan plan) : plan_(plan) {}

  // Counts one APDU; true if it must be answered 6F00 instead of by the applet.
  [[nodiscard]] bool next_apdu_fails();
  // True exactly once: right after the APDU that triggers remove-after was answered.
  [[nodiscard]] bool pull_card_now();
  [[nodiscard]] std::chrono::milliseconds delay() const { return plan_.delay; }
  [[nodiscard]] std::uint64_t apdus_seen() const { return apdus_; }

 private:
  FaultPlan plan_;
  std::uint64_t apdus_ = 0;
  bool pulled_ = false;
};

}  // namespace idvault::cardsim
