// The fixed shapes a PIV card presents: its ATR, application identifier, the FCI that
// SELECT returns, and the data objects GET DATA serves (SP 800-73-4 Part 1 §3).
#pragma once

#include <array>
#include <optional>
#include <string>

#include "firmware-sim/bytes.h"
#include "firmware-sim/card_state.h"
#include "firmware-sim/tlv.h"

namespace idvault::cardsim {

// 3B 88 80 01 "FWSIMPIV" TCK: T=1, 8 historical bytes that match no other OpenSC driver.
[[nodiscard]] ByteView card_atr();

// A0 00 00 03 08 00 00 10 00 01 00: NIST RID + PIV PIX + version.
inline constexpr std::array<std::uint8_t, 11> kPivAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                                         0x00, 0x10, 0x00, 0x01, 0x00};

// SELECT accepts any prefix of the AID of at least the 5-byte RID (OpenSC sends 9 bytes).
[[nodiscard]] bool selects_piv(ByteView aid);

// The application property template (tag 61). No tag AC: advertising secure-messaging
// cipher suites would make newer OpenSC attempt SM, which this card does not do.
[[nodiscard]] Bytes application_property_template(const CardState& state);

// GET DATA object tags.
inline constexpr TlvTag kDiscoveryObject = 0x7E;
inline constexpr TlvTag kChuid = 0x5FC102;
inline constexpr TlvTag kCertAuthentication = 0x5FC105;      // 9A
inline constexpr TlvTag kCertSignature = 0x5FC10A;           // 9C
inline constexpr TlvTag kCertKeyManagement = 0x5FC10B;       // 9D
inline constexpr TlvTag kCertCardAuthentication = 0x5FC101;  // 9E

// The full BER-TLV object GET DATA returns for `tag`, or nullopt if the card has none.
[[nodiscard]] std::optional<Bytes> piv_data_object(const CardState& state, TlvTag tag);

}  // namespace idvault::cardsim

namespace idvault::cardsim {
// The token serial OpenSC 0.23 derives from this card: it hex-encodes the CHUID GUID and
// keeps the last 16 digits (a PKCS#11 serialNumber holds 16 characters).
[[nodiscard]] std::string opensc_token_serial(ByteView guid);
}  // namespace idvault::cardsim
