#include "firmware-sim/card_personalisation.h"

#include <openssl/rand.h>

#include "firmware-sim/errors.h"

namespace idvault::cardsim {

namespace {

CardSlot make_slot(CardKey key, const std::string& common_name) {
  Bytes cert = key.self_signed_certificate_der(common_name);
  return CardSlot{std::move(key), std::move(cert)};
}

}  // namespace

CardState personalise_card(const PersonalisationOptions& options) {
  if (auto problem = pin_format_problem(options.pin.reveal()))
    throw CardsimError("--pin: " + *problem);
  if (auto problem = puk_format_problem(options.puk.reveal()))
    throw CardsimError("--puk: " + *problem);
  if (options.label.empty() || options.label.size() > 32) {
    throw CardsimError("--label must be 1 to 32 characters (a PKCS#11 token label is 32)");
  }
  CardState state;
  state.label = options.label;
  state.pin = options.pin.clone();
  state.puk = options.puk.clone();
  state.guid.resize(16);
  if (RAND_bytes(state.guid.data(), static_cast<int>(state.guid.size())) != 1) {
    throw CardsimError("RAND_bytes failed");
  }
  const auto ref = [](PivKeyRef r) { return static_cast<std::uint8_t>(r); };
  // The 9A certificate's CN is what OpenSC shows as the token label.
  state.slots.emplace(ref(PivKeyRef::authentication),
                      make_slot(CardKey::generate_ec("P-256"), options.label));
  state.slots.emplace(ref(PivKeyRef::signature),
                      make_slot(CardKey::generate_ec("P-256"), options.label + " signature"));
  state.slots.emplace(
      ref(PivKeyRef::key_management),
      make_slot(CardKey::generate_rsa(options.rsa_bits), options.label + " key management"));
  state.slots.emplace(
      ref(PivKeyRef::card_authentication),
      make_slot(CardKey::generate_ec("P-256"), options.label + " card authentication"));
  return state;
}

}  // namespace idvault::cardsim
