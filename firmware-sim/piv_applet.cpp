#include "firmware-sim/piv_applet.h"

#include <algorithm>
#include <utility>

#include "firmware-sim/piv_objects.h"
#include "firmware-sim/tlv.h"

namespace idvault::cardsim {

namespace {

constexpr std::uint8_t kInsSelect = 0xA4;
constexpr std::uint8_t kInsGetData = 0xCB;
constexpr std::uint8_t kInsGetResponse = 0xC0;
constexpr std::uint8_t kInsVerify = 0x20;
constexpr std::uint8_t kInsChangeReference = 0x24;
constexpr std::uint8_t kInsResetRetryCounter = 0x2C;
constexpr std::uint8_t kInsGeneralAuthenticate = 0x87;

// Big enough for any object or RSA-3072 command; bounds what a misbehaving host can make
// the card buffer.
constexpr std::size_t kMaxChainedData = std::size_t{16} * 1024;
// A vpcd frame carries at most 0xFFFF bytes, two of which are the status word.
constexpr std::size_t kMaxResponseChunk = 0xFFFF - 2;

}  // namespace

PivApplet::PivApplet(CardState& state, StatePersister persist)
    : state_(state), persist_(std::move(persist)) {}

void PivApplet::power_reset() noexcept {
  selected_ = false;
  pin_verified_ = false;
  signature_pin_fresh_ = false;
  pending_response_.clear();
  chain_data_.clear();
  chain_header_.reset();
}

Bytes PivApplet::process(ByteView command) {
  try {
    const ApduParse parsed = parse_command_apdu(command);
    if (const auto* status = std::get_if<StatusWord>(&parsed)) {
      chain_data_.clear();
      chain_header_.reset();
      return response_apdu(*status);
    }
    const auto& apdu = std::get<CommandApdu>(parsed);
    if ((apdu.cla & ~0x10) != 0) {
      chain_data_.clear();
      chain_header_.reset();
      return response_apdu(StatusWord::cla_not_supported);
    }
    // Any command but GET RESPONSE abandons an unfetched response (ISO 7816-4 §5.3.4).
    if (apdu.ins != kInsGetResponse) pending_response_.clear();

    const std::array<std::uint8_t, 3> header = {apdu.ins, apdu.p1, apdu.p2};
    if (chain_header_ && *chain_header_ != header) {
      chain_data_.clear();
      chain_header_.reset();
      return response_apdu(StatusWord::last_command_of_chain_expected);
    }
    if (apdu.chained()) {
      if (chain_data_.size() + apdu.data.size() > kMaxChainedData) {
        chain_data_.clear();
        chain_header_.reset();
        return response_apdu(StatusWord::not_enough_memory);
      }
      append(chain_data_, apdu.data);
      chain_header_ = header;
      return response_apdu(StatusWord::ok);
    }
    if (chain_header_) {
      CommandApdu whole = apdu;
      whole.data = std::exchange(chain_data_, {});
      append(whole.data, apdu.data);
      chain_header_.reset();
      return dispatch(whole);
    }
    return dispatch(apdu);
  } catch (const CardInputError&) {
    return response_apdu(StatusWord::wrong_data);
  } catch (...) {
    // The card never dies on a command; the host sees "no precise diagnosis".
    return response_apdu(StatusWord::no_precise_diagnosis);
  }
}

Bytes PivApplet::dispatch(const CommandApdu& apdu) {
  if (apdu.ins == kInsSelect) return process_select(apdu);
  if (apdu.ins == kInsGetResponse) return process_get_response(apdu);
  // Until PIV is selected this card has no application to answer for it.
  if (!selected_) return response_apdu(StatusWord::ins_not_supported);
  switch (apdu.ins) {
    case kInsGetData:
      return process_get_data(apdu);
    case kInsVerify:
      return process_verify(apdu);
    case kInsChangeReference:
      return process_change_reference(apdu);
    case kInsResetRetryCounter:
      return process_reset_retry_counter(apdu);
    case kInsGeneralAuthenticate:
      return process_general_authenticate(apdu);
    default:
      return response_apdu(StatusWord::ins_not_supported);
  }
}

Bytes PivApplet::respond(Bytes data, std::optional<std::uint32_t> le) {
  // No Le (case 1/3) on a command that yields data: hand out short-APDU blocks anyway,
  // as T=0 cards do with 61xx; OpenSC always sends Le so this is only for odd hosts.
  const std::size_t limit = std::min<std::size_t>(le.value_or(256), kMaxResponseChunk);
  if (data.size() <= limit) return response_apdu(data, static_cast<std::uint16_t>(StatusWord::ok));
  Bytes chunk(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(limit));
  pending_response_.assign(data.begin() + static_cast<std::ptrdiff_t>(limit), data.end());
  // 61 00 means 256 or more bytes remain.
  const auto remaining =
      static_cast<std::uint16_t>(std::min<std::size_t>(pending_response_.size(), 256) & 0xFF);
  return response_apdu(chunk, static_cast<std::uint16_t>(0x6100 | remaining));
}

Bytes PivApplet::process_select(const CommandApdu& apdu) {
  if (apdu.p1 != 0x04) return response_apdu(StatusWord::file_not_found);  // only select-by-AID
  if (apdu.p2 != 0x00 && apdu.p2 != 0x0C) return response_apdu(StatusWord::incorrect_p1p2);
  if (!selects_piv(apdu.data)) {
    // Selecting another application leaves PIV, and with it PIV's security status.
    selected_ = false;
    pin_verified_ = false;
    signature_pin_fresh_ = false;
    return response_apdu(StatusWord::file_not_found);
  }
  selected_ = true;
  if (apdu.p2 == 0x0C) return response_apdu(StatusWord::ok);
  return respond(application_property_template(state_), apdu.le);
}

Bytes PivApplet::process_get_response(const CommandApdu& apdu) {
  if (apdu.p1 != 0 || apdu.p2 != 0) return response_apdu(StatusWord::incorrect_p1p2);
  if (pending_response_.empty()) return response_apdu(StatusWord::conditions_not_satisfied);
  return respond(std::exchange(pending_response_, {}), apdu.le);
}

Bytes PivApplet::process_get_data(const CommandApdu& apdu) {
  if (apdu.p1 != 0x3F || apdu.p2 != 0xFF) return response_apdu(StatusWord::incorrect_p1p2);
  const auto tlvs = decode_tlvs(apdu.data);
  if (!tlvs || tlvs->size() != 1 || tlvs->front().tag != 0x5C || tlvs->front().value.empty() ||
      tlvs->front().value.size() > 3) {
    return response_apdu(StatusWord::wrong_data);
  }
  TlvTag tag = 0;
  for (const std::uint8_t b : tlvs->front().value) tag = (tag << 8) | b;
  auto object = piv_data_object(state_, tag);
  if (!object) return response_apdu(StatusWord::file_not_found);
  return respond(std::move(*object), apdu.le);
}

}  // namespace idvault::cardsim
