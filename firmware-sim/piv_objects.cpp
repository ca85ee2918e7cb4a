#include "firmware-sim/piv_objects.h"

#include <algorithm>

namespace idvault::cardsim {

namespace {

constexpr std::array<std::uint8_t, 13> make_atr() {
  std::array<std::uint8_t, 13> atr = {0x3B, 0x88, 0x80, 0x01, 'F', 'W', 'S',
                                      'I',  'M',  'P',  'I',  'V', 0};
  std::uint8_t tck = 0;
  for (std::size_t i = 1; i + 1 < atr.size(); ++i) tck ^= atr[i];  // T0 .. last historical byte
  atr.back() = tck;
  return atr;
}
constexpr auto kAtr = make_atr();

// FASC-N with agency code 9999 (SP 800-73-4 §3.1.2): OpenSC then takes the GUID as the
// token serial instead of the FASC-N.
constexpr std::array<std::uint8_t, 25> kFascn9999 = {
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
    0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB};

Bytes discovery_object() {
  Bytes inner;
  append_tlv(inner, 0x4F, kPivAid);
  const std::array<std::uint8_t, 2> pin_policy = {0x40, 0x00};  // PIV PIN only, no global PIN
  append_tlv(inner, 0x5F2F, pin_policy);
  return tlv(kDiscoveryObject, inner);  // the discovery object is not wrapped in 53
}

Bytes chuid(const CardState& state) {
  Bytes inner;
  append_tlv(inner, 0x30, kFascn9999);
  append_tlv(inner, 0x34, state.guid);
  const std::string expiry = "20301231";
  append_tlv(inner, 0x35,
             ByteView(reinterpret_cast<const std::uint8_t*>(expiry.data()), expiry.size()));
  append_tlv(inner, 0x3E, {});  // issuer signature: empty, the card is self-issued
  append_tlv(inner, 0xFE, {});  // error detection code
  return tlv(0x53, inner);
}

std::optional<Bytes> certificate_object(const CardState& state, PivKeyRef ref) {
  const auto slot = state.slots.find(static_cast<std::uint8_t>(ref));
  if (slot == state.slots.end() || slot->second.certificate_der.empty()) return std::nullopt;
  Bytes inner;
  append_tlv(inner, 0x70, slot->second.certificate_der);
  const std::array<std::uint8_t, 1> uncompressed = {0x00};
  append_tlv(inner, 0x71, uncompressed);
  append_tlv(inner, 0xFE, {});
  return tlv(0x53, inner);
}

}  // namespace

ByteView card_atr() {
  return kAtr;
}

bool selects_piv(ByteView aid) {
  return aid.size() >= 5 && aid.size() <= kPivAid.size() &&
         std::equal(aid.begin(), aid.end(), kPivAid.begin());
}

Bytes application_property_template(const CardState& state) {
  Bytes inner;
  append_tlv(inner, 0x4F, ByteView(kPivAid).subspan(5));  // PIX + version
  append_tlv(inner, 0x79, tlv(0x4F, ByteView(kPivAid).first(5)));
  const std::string label = state.label + " PIV";
  append_tlv(inner, 0x50,
             ByteView(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
  return tlv(0x61, inner);
}

std::optional<Bytes> piv_data_object(const CardState& state, TlvTag tag) {
  switch (tag) {
    case kDiscoveryObject:
      return discovery_object();
    case kChuid:
      return chuid(state);
    case kCertAuthentication:
      return certificate_object(state, PivKeyRef::authentication);
    case kCertSignature:
      return certificate_object(state, PivKeyRef::signature);
    case kCertKeyManagement:
      return certificate_object(state, PivKeyRef::key_management);
    case kCertCardAuthentication:
      return certificate_object(state, PivKeyRef::card_authentication);
    default:
      return std::nullopt;
  }
}

}  // namespace idvault::cardsim

namespace idvault::cardsim {
std::string opensc_token_serial(ByteView guid) {
  const std::string hex = to_hex(guid);
  return hex.size() > 16 ? hex.substr(hex.size() - 16) : hex;
}
}  // namespace idvault::cardsim
