// PivApplet: the card's state machine. It takes command APDUs as bytes and returns
// response APDUs as bytes, exactly what travels over vpcd, so tests can drive it the way
// OpenSC does without any reader in between.
//
// Implements the PIV subset OpenSC 0.23 needs (reference/token-stack.md §4.3): SELECT,
// GET DATA, GET RESPONSE (61xx response chaining), CLA 0x10 command chaining, VERIFY,
// CHANGE REFERENCE DATA, RESET RETRY COUNTER and GENERAL AUTHENTICATE. Everything else
// answers 6D00.
//
// Volatile state (selection, PIN verified, pending response, chaining buffer) dies on
// power_reset(). Retry counters live in CardState and are persisted through the
// StatePersister *before* a PIN is compared, so pulling power mid-check cannot win a free try.
#pragma once

#include <array>
#include <functional>
#include <optional>

#include "firmware-sim/apdu.h"
#include "firmware-sim/card_state.h"

namespace idvault::cardsim {

// Writes the card state somewhere durable; throws on failure.
using StatePersister = std::function<void(const CardState&)>;

class PivApplet {
 public:
  // `state` must outlive the applet.
  PivApplet(CardState& state, StatePersister persist);

  // Never throws: an internal failure answers 6F00.
  [[nodiscard]] Bytes process(ByteView command);

  // Power off, power on or warm reset.
  void power_reset() noexcept;

  [[nodiscard]] bool pin_verified() const { return pin_verified_; }

 private:
  Bytes dispatch(const CommandApdu& apdu);
  Bytes respond(Bytes data, std::optional<std::uint32_t> le);

  Bytes process_select(const CommandApdu& apdu);
  Bytes process_get_data(const CommandApdu& apdu);
  Bytes process_get_response(const CommandApdu& apdu);
  Bytes process_verify(const CommandApdu& apdu);
  Bytes process_change_reference(const CommandApdu& apdu);
  Bytes process_reset_retry_counter(const CommandApdu& apdu);
  Bytes process_general_authenticate(const CommandApdu& apdu);

  enum class Secret { pin, puk };
  // Spends one try of `which`, compares, restores the counter on a match.
  // Returns 9000, 63Cx, 6983 (blocked) or 6581 (could not persist).
  std::uint16_t check_secret(Secret which, ByteView padded_candidate);
  bool persist() noexcept;

  CardState& state_;
  StatePersister persist_;

  bool selected_ = false;
  bool pin_verified_ = false;
  // Key 9C is "PIN always" (SP 800-73-4 §3.2.2): one signature per VERIFY.
  bool signature_pin_fresh_ = false;
  Bytes pending_response_;
  Bytes chain_data_;
  std::optional<std::array<std::uint8_t, 3>> chain_header_;  // INS P1 P2 of the open chain
};

// PIV pads PINs to 8 bytes with 0xFF. Returns the unpadded value, or nullopt if the
// padding is malformed (not 8 bytes, empty, or 0xFF followed by something else).
[[nodiscard]] std::optional<ByteView> strip_pin_padding(ByteView padded);

}  // namespace idvault::cardsim
