#include "firmware-sim/faults.h"

#include <charconv>

#include "firmware-sim/errors.h"

namespace idvault::cardsim {

namespace {

std::uint64_t parse_count(const std::string& spec, std::string_view digits) {
  std::uint64_t value = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end) {
    throw CardsimError("--fault " + spec + ": the value must be a non-negative whole number");
  }
  return value;
}

}  // namespace

FaultPlan parse_faults(const std::vector<std::string>& specs) {
  FaultPlan plan;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos) {
      throw CardsimError("--fault " + spec +
                         ": expected remove-after=N, delay-ms=N or error-after=N");
    }
    const std::string name = spec.substr(0, eq);
    const std::uint64_t value = parse_count(spec, std::string_view(spec).substr(eq + 1));
    if (name == "remove-after") {
      if (value == 0) throw CardsimError("--fault remove-after=0: N must be at least 1");
      plan.remove_after = value;
    } else if (name == "error-after") {
      plan.error_after = value;
    } else if (name == "delay-ms") {
      if (value > 60000) throw CardsimError("--fault " + spec + ": delay-ms must be at most 60000");
      plan.delay = std::chrono::milliseconds(value);
    } else {
      throw CardsimError("--fault " + spec + ": unknown fault '" + name +
                         "' (known: remove-after, delay-ms, error-after)");
    }
  }
  return plan;
}

bool FaultInjector::next_apdu_fails() {
  ++apdus_;
  return plan_.error_after && apdus_ > *plan_.error_after;
}

bool FaultInjector::pull_card_now() {
  if (pulled_ || !plan_.remove_after || apdus_ < *plan_.remove_after) return false;
  pulled_ = true;
  return true;
}

}  // namespace idvault::cardsim
