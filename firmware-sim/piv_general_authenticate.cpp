// GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4) with the dynamic authentication
// template 7C { 82 00, 81 challenge | 85 exponentiation }: the card's private-key operation.
#include "firmware-sim/piv_applet.h"
#include "firmware-sim/tlv.h"

namespace idvault::cardsim {

namespace {
constexpr TlvTag kDynamicAuthTemplate = 0x7C;
constexpr TlvTag kResponse = 0x82;
constexpr TlvTag kChallenge = 0x81;
constexpr TlvTag kExponentiation = 0x85;
}  // namespace

Bytes PivApplet::process_general_authenticate(const CommandApdu& apdu) {
  const auto slot = state_.slots.find(apdu.p2);
  if (slot == state_.slots.end()) return response_apdu(StatusWord::reference_not_found);
  const CardKey& key = slot->second.key;
  if (apdu.p1 != static_cast<std::uint8_t>(key.algorithm())) {
    return response_apdu(StatusWord::incorrect_p1p2);
  }
  const auto ref = static_cast<PivKeyRef>(apdu.p2);
  // Card authentication (9E) is usable without a PIN by definition; 9C needs a VERIFY
  // right before each use; the rest need the PIN verified in this session.
  const bool allowed = ref == PivKeyRef::card_authentication ||
                       (ref == PivKeyRef::signature ? signature_pin_fresh_ : pin_verified_);
  if (!allowed) return response_apdu(StatusWord::security_status_not_satisfied);

  const auto outer = decode_tlvs(apdu.data);
  if (!outer || outer->size() != 1 || outer->front().tag != kDynamicAuthTemplate) {
    return response_apdu(StatusWord::wrong_data);
  }
  const auto inner = decode_tlvs(outer->front().value);
  if (!inner) return response_apdu(StatusWord::wrong_data);
  const auto response_slot = find_tlv(*inner, kResponse);
  const auto challenge = find_tlv(*inner, kChallenge);
  const auto exponentiation = find_tlv(*inner, kExponentiation);
  if (!response_slot || !response_slot->empty() ||
      challenge.has_value() == exponentiation.has_value()) {
    return response_apdu(StatusWord::wrong_data);
  }

  Bytes result;
  if (key.is_rsa()) {
    if (!challenge) return response_apdu(StatusWord::wrong_data);
    result = key.rsa_raw_private(*challenge);
  } else if (challenge) {
    result = key.ecdsa_sign_digest(*challenge);
  } else {
    result = key.ecdh_shared_x(*exponentiation);
  }
  if (ref == PivKeyRef::signature) signature_pin_fresh_ = false;
  return respond(tlv(kDynamicAuthTemplate, tlv(kResponse, result)), apdu.le);
}

}  // namespace idvault::cardsim
