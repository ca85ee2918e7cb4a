// Personalisation: what a card issuer does once — generate the card's keys, self-sign
// their certificates, mint the CHUID's GUID, set PIN and PUK.
#pragma once

#include <string>

#include "firmware-sim/card_state.h"

namespace idvault::cardsim {

struct PersonalisationOptions {
  WipedBytes pin = WipedBytes::from_text("123456");
  WipedBytes puk = WipedBytes::from_text("12345678");
  unsigned rsa_bits = 2048;
  std::string label = "idvault-cardsim";
};

// Slots 9A, 9C, 9E: EC P-256; 9D: RSA of rsa_bits. Each with a self-signed certificate,
// because OpenSC lists only keys that have one. Throws CardsimError on a bad option.
[[nodiscard]] CardState personalise_card(const PersonalisationOptions& options);

}  // namespace idvault::cardsim
