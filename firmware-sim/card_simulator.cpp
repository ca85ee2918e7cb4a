#include "firmware-sim/card_simulator.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "firmware-sim/errors.h"
#include "firmware-sim/log.h"
#include "firmware-sim/piv_objects.h"

namespace idvault::cardsim {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kConnectRetry{100};

// vpcd control bytes (vsmartcard vpcd.h).
constexpr std::uint8_t kPowerOff = 0x00;
constexpr std::uint8_t kPowerOn = 0x01;
constexpr std::uint8_t kReset = 0x02;
constexpr std::uint8_t kGetAtr = 0x04;

milliseconds until(Clock::time_point when) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(when - Clock::now()));
}

std::string endpoint_text(const VpcdEndpoint& e) {
  return e.host + ":" + std::to_string(e.port);
}

}  // namespace

CardSimulator::CardSimulator(PivApplet& applet, SimulatorOptions options, CardEventSource& events)
    : applet_(applet), options_(std::move(options)), events_(events), faults_(options_.faults) {}

void CardSimulator::run() {
  while (!stop_requested_) {
    if (link_) {
      pollfd fds[2] = {{link_->fd(), POLLIN, 0}, {events_.fd(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw CardsimError("poll failed");
      }
      if (fds[1].revents & POLLIN) {
        wait_for_event(milliseconds(0));
        continue;
      }
      if (fds[0].revents != 0) serve_frame();
    } else if (want_inserted_) {
      insert();
    } else if (reinsert_at_) {
      wait_for_event(until(*reinsert_at_));
      if (reinsert_at_ && Clock::now() >= *reinsert_at_) {
        reinsert_at_.reset();
        want_inserted_ = true;
      }
    } else {
      wait_for_event(std::nullopt);
    }
  }
  link_.reset();
}

void CardSimulator::wait_for_event(std::optional<milliseconds> timeout) {
  pollfd fd = {events_.fd(), POLLIN, 0};
  const int ms = timeout ? static_cast<int>(std::min<long long>(timeout->count(), 1 << 30)) : -1;
  const int rc = ::poll(&fd, 1, ms);
  if (rc <= 0 || (fd.revents & POLLIN) == 0) return;
  if (const auto event = events_.take()) handle(*event);
}

void CardSimulator::handle(CardEvent event) {
  if (event == CardEvent::stop) {
    log_line(LogLevel::info, "stopping");
    stop_requested_ = true;
    return;
  }
  reinsert_at_.reset();
  if (want_inserted_) {
    if (link_) pull("presence toggled (SIGUSR1)");
    want_inserted_ = false;
  } else {
    log_line(LogLevel::info, "reinserting (presence toggled)");
    want_inserted_ = true;
  }
}

void CardSimulator::insert() {
  const auto deadline = Clock::now() + options_.connect_timeout;
  while (!stop_requested_ && want_inserted_) {
    if (auto link = VpcdLink::try_connect(options_.vpcd)) {
      link_ = std::move(link);
      applet_.power_reset();  // a freshly inserted card starts cold
      log_line(LogLevel::info,
               "card inserted: connected to vpcd at " + endpoint_text(options_.vpcd));
      return;
    }
    if (Clock::now() >= deadline) {
      throw CardsimError("cannot connect to vpcd at " + endpoint_text(options_.vpcd) + " within " +
                         std::to_string(options_.connect_timeout.count()) +
                         " ms (is pcscd running with the vpcd reader?)");
    }
    wait_for_event(std::min(kConnectRetry, until(deadline)));
  }
}

void CardSimulator::pull(const std::string& why) {
  link_.reset();
  applet_.power_reset();
  log_line(LogLevel::info, "card pulled: " + why);
}

void CardSimulator::link_lost() {
  link_.reset();
  applet_.power_reset();
  if (!options_.reconnect) {
    throw CardsimError(
        "vpcd closed the connection (pcscd stopped?); use --reconnect to wait for it");
  }
  log_line(LogLevel::info, "vpcd closed the connection; reinserting in " +
                               std::to_string(options_.reinsert_after.count()) + " ms");
  want_inserted_ = false;
  reinsert_at_ = Clock::now() + options_.reinsert_after;
}

void CardSimulator::serve_frame() {
  const auto frame = link_->receive_frame();
  if (!frame) {
    link_lost();
    return;
  }
  if (frame->empty()) {
    log_line(LogLevel::debug, "ignoring an empty frame from vpcd");
    return;
  }
  if (frame->size() > 1) {
    answer_apdu(*frame);
    return;
  }
  switch ((*frame)[0]) {
    case kPowerOff:
    case kPowerOn:
    case kReset:
      // vpcd reads no reply to these; it asks for the ATR separately.
      applet_.power_reset();
      log_line(LogLevel::debug, "control " + to_hex(*frame) + ": volatile state cleared");
      return;
    case kGetAtr:
      try {
        link_->send_frame(card_atr());
      } catch (const CardsimError&) {
        link_lost();
      }
      return;
    default:
      log_line(LogLevel::debug, "ignoring unknown control byte " + to_hex(*frame));
      return;
  }
}

void CardSimulator::answer_apdu(const Bytes& command) {
  const bool inject_error = faults_.next_apdu_fails();
  if (faults_.delay().count() > 0) {
    const auto deadline = Clock::now() + faults_.delay();
    // Stay responsive while slow: a toggle during the delay pulls the card unanswered.
    while (Clock::now() < deadline) {
      wait_for_event(until(deadline));
      if (stop_requested_ || !link_) return;
    }
  }
  const Bytes response =
      inject_error ? response_apdu(StatusWord::no_precise_diagnosis) : applet_.process(command);
  if (log_enabled(LogLevel::debug)) {
    log_line(LogLevel::debug,
             loggable_command(command) + (inject_error ? " (fault error-after)" : ""));
    log_line(LogLevel::debug, loggable_response(response));
  }
  try {
    link_->send_frame(response);
  } catch (const CardsimError&) {
    link_lost();
    return;
  }
  if (faults_.pull_card_now()) {
    pull("fault remove-after=" + std::to_string(faults_.apdus_seen()));
    want_inserted_ = false;
    if (options_.reconnect) reinsert_at_ = Clock::now() + options_.reinsert_after;
  }
}

}  // namespace idvault::cardsim
