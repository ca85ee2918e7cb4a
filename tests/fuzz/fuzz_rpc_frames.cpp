// libFuzzer target: the agent's socket input path — arbitrary byte chunks into the line
// framer (through both feed() and receive_space()/commit(), as the transport uses them),
// then every frame through the JSON line parser and the JSON-RPC request parser.
//
// Oracles:
//  - the framer against a plain model (split on '\n', drop one trailing '\r', refuse a
//    line over the limit, whether complete or still partial);
//  - parse_json_line against nlohmann::json's own parse: same verdict, same tree
//    (json_line_parser.h promises exactly that, raw NUL bytes apart);
//  - announced_attachments throws nothing and keeps to its limits (bytes and "fd");
//  - append_compact_json (how answers are written) against nlohmann's dump of the same tree;
//  - parse_request throws nothing but RpcError, and a request it accepts is well-formed.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <variant>

#include "host/rpc/attachment_announcement.h"
#include "host/rpc/compact_json.h"
#include "host/rpc/json_line_parser.h"
#include "host/rpc/json_rpc.h"
#include "host/rpc/line_framer.h"

namespace {

using namespace idvault::rpc;

// What the framer must do, written the obvious way.
struct FramerModel {
  std::size_t max_frame_bytes;
  std::string partial;
  std::deque<std::string> ready;
  bool oversized = false;

  bool feed(std::string_view bytes) {
    if (oversized) return false;
    for (const char c : bytes) {
      if (c != '\n') {
        partial.push_back(c);
        continue;
      }
      if (partial.size() > max_frame_bytes) oversized = true;
      if (!partial.empty() && partial.back() == '\r') partial.pop_back();
      ready.push_back(std::move(partial));
      partial.clear();
    }
    if (partial.size() > max_frame_bytes) oversized = true;
    return !oversized;
  }
};

void check_frame(const std::string& frame) {
  // Differential: our parser against nlohmann's on the same text. The one documented
  // difference: a raw NUL, where nlohmann stops reading, makes ours refuse the text.
  const nlohmann::json ours = parse_json_line(frame);
  if (frame.find('\0') != std::string::npos) {
    if (!ours.is_discarded()) __builtin_trap();
  } else {
    const nlohmann::json theirs = nlohmann::json::parse(frame, nullptr, /*allow_exceptions=*/false);
    if (ours.is_discarded() != theirs.is_discarded()) __builtin_trap();
    if (!ours.is_discarded() && ours != theirs) __builtin_trap();
  }
  // An announcement never throws and never exceeds its limits.
  const AttachmentAnnouncement announced = announced_attachments(frame);
  if (const auto* slots = std::get_if<std::vector<AnnouncedAttachment>>(&announced)) {
    if (slots->size() > kMaxAttachments) __builtin_trap();
    std::size_t descriptors = 0;
    for (const AnnouncedAttachment& slot : *slots) descriptors += slot.descriptor ? 1 : 0;
    if (descriptors > kMaxDescriptors) __builtin_trap();
  }
  // The answer writer against nlohmann's dump, on whatever the client's bytes parsed to.
  if (!ours.is_discarded()) {
    std::string written;
    append_compact_json(ours, written);
    if (written != ours.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      __builtin_trap();
  }

  nlohmann::json id;
  try {
    const RpcRequest request = parse_request(frame, id);
    if (request.method.empty()) __builtin_trap();
    if (!request.params.is_null() && !request.params.is_object() && !request.params.is_array()) {
      __builtin_trap();
    }
    // Answers are always one line, whatever bytes the id carried.
    const std::string answer = format_error(request.id, RpcCode::internal_error, request.method);
    if (answer.find('\n') != answer.size() - 1) __builtin_trap();
  } catch (const RpcError&) {
    const std::string answer = format_error(id, RpcCode::parse_error, "x");
    if (answer.find('\n') != answer.size() - 1) __builtin_trap();
  }
}

}  // namespace

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::size_t limit = input.ConsumeIntegralInRange<std::size_t>(1, 512);
  LineFramer framer(limit);
  FramerModel model{limit, {}, {}, false};
  while (input.remaining_bytes() > 0) {
    const bool through_space = input.ConsumeBool();
    const std::string chunk = input.ConsumeRandomLengthString(256);
    bool accepted = false;
    if (through_space) {
      // The transport asks for more room than one read fills.
      const std::size_t room = chunk.size() + input.ConsumeIntegralInRange<std::size_t>(0, 64);
      if (framer.oversized()) {
        accepted = framer.commit(0);
      } else {
        std::span<char> space = framer.receive_space(room);
        if (space.size() != room) __builtin_trap();
        std::memcpy(space.data(), chunk.data(), chunk.size());
        accepted = framer.commit(chunk.size());
      }
    } else {
      accepted = framer.feed(chunk);
    }
    if (accepted != model.feed(chunk) || framer.oversized() != model.oversized) __builtin_trap();
    if (framer.oversized()) {
      if (framer.next_frame()) __builtin_trap();
      return 0;
    }
    while (auto frame = framer.next_frame()) {
      if (model.ready.empty() || *frame != model.ready.front()) __builtin_trap();
      model.ready.pop_front();
      check_frame(*frame);
    }
    if (!model.ready.empty() || framer.buffered() != model.partial.size()) __builtin_trap();
  }
  return 0;
}
