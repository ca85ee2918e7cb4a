#include "firmware-sim/apdu.h"

namespace idvault::cardsim {

namespace {

std::uint32_t short_le(std::uint8_t b) {
  return b == 0 ? 256U : b;
}
std::uint32_t extended_le(std::uint8_t hi, std::uint8_t lo) {
  const std::uint32_t v = (static_cast<std::uint32_t>(hi) << 8) | lo;
  return v == 0 ? 65536U : v;
}

}  // namespace

ApduParse parse_command_apdu(ByteView raw) {
  if (raw.size() < 4) return StatusWord::wrong_length;
  CommandApdu apdu;
  apdu.cla = raw[0];
  apdu.ins = raw[1];
  apdu.p1 = raw[2];
  apdu.p2 = raw[3];
  const ByteView body = raw.subspan(4);

  if (body.empty()) return apdu;  // case 1
  if (body.size() == 1) {         // case 2 short
    apdu.le = short_le(body[0]);
    return apdu;
  }
  if (body[0] != 0) {  // case 3 or 4 short: Lc in one byte
    const std::size_t lc = body[0];
    if (body.size() == 1 + lc) {
      apdu.data.assign(body.begin() + 1, body.end());
      return apdu;
    }
    if (body.size() == 2 + lc) {
      apdu.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<std::ptrdiff_t>(lc));
      apdu.le = short_le(body.back());
      return apdu;
    }
    return StatusWord::wrong_length;
  }

  // A leading 00 with more bytes after it announces extended length.
  apdu.extended = true;
  if (body.size() < 3) return StatusWord::wrong_length;
  if (body.size() == 3) {  // case 2 extended
    apdu.le = extended_le(body[1], body[2]);
    return apdu;
  }
  const std::size_t lc = (static_cast<std::size_t>(body[1]) << 8) | body[2];
  if (lc == 0) return StatusWord::wrong_length;  // an extended Lc of 0 is not a valid encoding
  if (body.size() == 3 + lc) {
    apdu.data.assign(body.begin() + 3, body.end());
    return apdu;
  }
  if (body.size() == 5 + lc) {
    apdu.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<std::ptrdiff_t>(lc));
    apdu.le = extended_le(body[body.size() - 2], body[body.size() - 1]);
    return apdu;
  }
  return StatusWord::wrong_length;
}

Bytes response_apdu(ByteView data, std::uint16_t status) {
  Bytes out(data.begin(), data.end());
  out.push_back(static_cast<std::uint8_t>(status >> 8));
  out.push_back(static_cast<std::uint8_t>(status & 0xFF));
  return out;
}

}  // namespace idvault::cardsim
