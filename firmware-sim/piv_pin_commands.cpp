// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (SP 800-73-4 Part 2 §3.2.1-3.2.3):
// everything that spends or restores a PIN or PUK try.
#include <algorithm>
#include <array>
#include <utility>

#include "firmware-sim/piv_applet.h"

namespace idvault::cardsim {

namespace {

constexpr std::uint8_t kRefPivPin = 0x80;
constexpr std::uint8_t kRefPuk = 0x81;
constexpr std::size_t kPaddedLength = 8;

bool is_ok(std::uint16_t sw) {
  return sw == static_cast<std::uint16_t>(StatusWord::ok);
}

Bytes status_only(std::uint16_t sw) {
  return response_apdu({}, sw);
}

WipedBytes padded(const WipedBytes& secret) {
  std::array<std::uint8_t, kPaddedLength> buffer{};
  buffer.fill(0xFF);
  std::copy(secret.reveal().begin(), secret.reveal().end(), buffer.begin());
  WipedBytes out(buffer);
  detail::cleanse(buffer.data(), buffer.size());
  return out;
}

}  // namespace

std::optional<ByteView> strip_pin_padding(ByteView padded_value) {
  if (padded_value.size() != kPaddedLength) return std::nullopt;
  const auto first_pad = std::find(padded_value.begin(), padded_value.end(), 0xFF);
  if (first_pad == padded_value.begin()) return std::nullopt;
  if (!std::all_of(first_pad, padded_value.end(), [](std::uint8_t b) { return b == 0xFF; })) {
    return std::nullopt;
  }
  return padded_value.first(static_cast<std::size_t>(first_pad - padded_value.begin()));
}

bool PivApplet::persist() noexcept {
  try {
    persist_(state_);
    return true;
  } catch (...) {
    return false;
  }
}

std::uint16_t PivApplet::check_secret(Secret which, ByteView padded_candidate) {
  unsigned& tries = which == Secret::pin ? state_.pin_tries_left : state_.puk_tries_left;
  const WipedBytes& reference = which == Secret::pin ? state_.pin : state_.puk;
  if (tries == 0) return static_cast<std::uint16_t>(StatusWord::auth_method_blocked);

  // Record the spent try first: a card that compares before it writes can be attacked
  // by cutting power the moment a wrong guess is detected.
  const unsigned before = tries;
  tries = before - 1;
  if (!persist()) {
    tries = before;
    return static_cast<std::uint16_t>(StatusWord::memory_failure);
  }
  if (!padded(reference).equals(padded_candidate)) return tries_left_status(tries);
  tries = CardState::kMaxTries;
  if (!persist()) return static_cast<std::uint16_t>(StatusWord::memory_failure);
  return static_cast<std::uint16_t>(StatusWord::ok);
}

Bytes PivApplet::process_verify(const CommandApdu& apdu) {
  if (apdu.p1 != 0x00 && apdu.p1 != 0xFF) return response_apdu(StatusWord::incorrect_p1p2);
  if (apdu.p2 != kRefPivPin) return response_apdu(StatusWord::reference_not_found);
  if (apdu.p1 == 0xFF) {  // reset the PIN's security status
    if (!apdu.data.empty()) return response_apdu(StatusWord::wrong_length);
    pin_verified_ = false;
    signature_pin_fresh_ = false;
    return response_apdu(StatusWord::ok);
  }
  if (apdu.data.empty()) {  // status query: spends nothing
    if (state_.pin_tries_left == 0) return response_apdu(StatusWord::auth_method_blocked);
    if (pin_verified_) return response_apdu(StatusWord::ok);
    return status_only(tries_left_status(state_.pin_tries_left));
  }
  if (!strip_pin_padding(apdu.data)) return response_apdu(StatusWord::wrong_data);
  pin_verified_ = false;
  signature_pin_fresh_ = false;
  const std::uint16_t sw = check_secret(Secret::pin, apdu.data);
  if (is_ok(sw)) {
    pin_verified_ = true;
    signature_pin_fresh_ = true;
  }
  return status_only(sw);
}

Bytes PivApplet::process_change_reference(const CommandApdu& apdu) {
  if (apdu.p1 != 0x00) return response_apdu(StatusWord::incorrect_p1p2);
  if (apdu.p2 != kRefPivPin && apdu.p2 != kRefPuk)
    return response_apdu(StatusWord::reference_not_found);
  if (apdu.data.size() != 2 * kPaddedLength) return response_apdu(StatusWord::wrong_data);
  const ByteView old_value = ByteView(apdu.data).first(kPaddedLength);
  const auto new_value = strip_pin_padding(ByteView(apdu.data).subspan(kPaddedLength));
  const bool is_pin = apdu.p2 == kRefPivPin;
  if (!strip_pin_padding(old_value) || !new_value ||
      (is_pin ? pin_format_problem(*new_value) : puk_format_problem(*new_value))) {
    return response_apdu(StatusWord::wrong_data);
  }
  const std::uint16_t sw = check_secret(is_pin ? Secret::pin : Secret::puk, old_value);
  if (!is_ok(sw)) return status_only(sw);
  WipedBytes& target = is_pin ? state_.pin : state_.puk;
  WipedBytes previous = std::exchange(target, WipedBytes(*new_value));
  if (!persist()) {
    target = std::move(previous);
    return response_apdu(StatusWord::memory_failure);
  }
  return response_apdu(StatusWord::ok);
}

Bytes PivApplet::process_reset_retry_counter(const CommandApdu& apdu) {
  if (apdu.p1 != 0x00) return response_apdu(StatusWord::incorrect_p1p2);
  if (apdu.p2 != kRefPivPin) return response_apdu(StatusWord::reference_not_found);
  if (apdu.data.size() != 2 * kPaddedLength) return response_apdu(StatusWord::wrong_data);
  const ByteView puk = ByteView(apdu.data).first(kPaddedLength);
  const auto new_pin = strip_pin_padding(ByteView(apdu.data).subspan(kPaddedLength));
  if (!strip_pin_padding(puk) || !new_pin || pin_format_problem(*new_pin)) {
    return response_apdu(StatusWord::wrong_data);
  }
  const std::uint16_t sw = check_secret(Secret::puk, puk);
  if (!is_ok(sw)) return status_only(sw);
  WipedBytes previous_pin = std::exchange(state_.pin, WipedBytes(*new_pin));
  const unsigned previous_tries = std::exchange(state_.pin_tries_left, CardState::kMaxTries);
  if (!persist()) {
    state_.pin = std::move(previous_pin);
    state_.pin_tries_left = previous_tries;
    return response_apdu(StatusWord::memory_failure);
  }
  pin_verified_ = false;
  signature_pin_fresh_ = false;
  return response_apdu(StatusWord::ok);
}

}  // namespace idvault::cardsim
