// ISO 7816-4 / NIST SP 800-73-4 status words the simulated card answers with.
#pragma once

#include <cstdint>

namespace idvault::cardsim {

enum class StatusWord : std::uint16_t {
  ok = 0x9000,
  memory_failure = 0x6581,  // could not persist the retry counter
  wrong_length = 0x6700,
  security_status_not_satisfied = 0x6982,
  auth_method_blocked = 0x6983,
  conditions_not_satisfied = 0x6985,
  last_command_of_chain_expected = 0x6883,
  wrong_data = 0x6A80,
  not_enough_memory = 0x6A84,
  file_not_found = 0x6A82,
  incorrect_p1p2 = 0x6A86,
  reference_not_found = 0x6A88,
  ins_not_supported = 0x6D00,
  cla_not_supported = 0x6E00,
  no_precise_diagnosis = 0x6F00,
};

// 63 Cx: verification failed, x tries left (x <= 15).
constexpr std::uint16_t tries_left_status(unsigned tries) {
  return static_cast<std::uint16_t>(0x63C0 | (tries > 15 ? 15 : tries));
}

}  // namespace idvault::cardsim
