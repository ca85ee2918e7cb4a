// CardState: everything the simulated card keeps across power cycles — keys,
// certificates, identifiers, PIN and PUK and their retry counters — and the state file
// that holds it.
//
// The state file is JSON (format "idvault-cardsim-state/1", described in docs/CARDSIM.md),
// mode 0600, replaced atomically (temp file, fsync, rename, fsync of the directory), so a
// crash mid-write leaves either the old or the new counter, never a torn file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "firmware-sim/bytes.h"
#include "firmware-sim/card_keys.h"
#include "firmware-sim/wiped_bytes.h"

namespace idvault::cardsim {

// PIV key references (SP 800-73-4 Part 1 Table 4b).
enum class PivKeyRef : std::uint8_t {
  authentication = 0x9A,
  signature = 0x9C,
  key_management = 0x9D,
  card_authentication = 0x9E,
};

struct CardSlot {
  CardKey key;
  Bytes certificate_der;
};

struct CardState {
  static constexpr unsigned kMaxTries = 3;

  std::string label;  // also the CN of the 9A certificate, which OpenSC shows as token label
  Bytes guid;         // 16 bytes; OpenSC's token serial
  WipedBytes pin;     // 6..8 digits
  WipedBytes puk;     // 6..8 printable characters
  unsigned pin_tries_left = kMaxTries;
  unsigned puk_tries_left = kMaxTries;
  std::map<std::uint8_t, CardSlot> slots;  // by key reference (0x9A ...)
};

// A PIN is 6..8 ASCII digits (SP 800-73-4 §2.4.3). nullopt if fine, else why not.
[[nodiscard]] std::optional<std::string> pin_format_problem(ByteView pin);
// A PUK is 6..8 printable ASCII characters.
[[nodiscard]] std::optional<std::string> puk_format_problem(ByteView puk);

// Throws CardsimError naming the file and what is wrong with it.
[[nodiscard]] CardState load_card_state(const std::filesystem::path& file);
void save_card_state(const std::filesystem::path& file, const CardState& state);

}  // namespace idvault::cardsim
