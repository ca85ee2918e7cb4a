// libFuzzer target: arbitrary bytes into the APDU parser and the TLV decoder, then as a
// sequence of commands into the PIV applet (each command is one length byte followed by
// that many bytes; a zero length is a power reset). The applet must answer every
// command with at least a status word and never crash, whatever the host sends.
#include <cstdint>
#include <cstdlib>

#include "firmware-sim/apdu.h"
#include "firmware-sim/card_personalisation.h"
#include "firmware-sim/piv_applet.h"
#include "firmware-sim/tlv.h"

using namespace idvault::cardsim;

namespace {

// Key generation is slow; one card for the whole run, its mutable parts reset per input.
CardState& shared_card() {
  static CardState state = [] {
    PersonalisationOptions options;
    options.rsa_bits = 1024;
    return personalise_card(options);
  }();
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  (void)parse_command_apdu(input);
  (void)decode_tlvs(input);

  CardState& state = shared_card();
  state.pin = WipedBytes::from_text("123456");
  state.puk = WipedBytes::from_text("12345678");
  state.pin_tries_left = CardState::kMaxTries;
  state.puk_tries_left = CardState::kMaxTries;
  PivApplet applet(state, [](const CardState&) {});
  (void)applet.process(from_hex("00a4040009a00000030800001000"));

  std::size_t i = 0;
  while (i < size) {
    const std::size_t length = data[i++];
    if (length == 0) {
      applet.power_reset();
      continue;
    }
    const std::size_t take = length < size - i ? length : size - i;
    const Bytes response = applet.process(input.subspan(i, take));
    if (response.size() < 2) std::abort();  // vpcd would read an empty reply as card removal
    i += take;
  }
  return 0;
}
