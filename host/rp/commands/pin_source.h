// The token PIN for a service-side command (idvault-rp, idvault-verifier), read by the
// PIN reader every idvault tool shares (host/pin): --pin-file, $IDVAULT_PINENTRY, or the
// terminal — never argv or the environment.
#pragma once

#include <boost/program_options/variables_map.hpp>

#include "common/secret_bytes.h"
#include "host/pin/pin_source.h"

namespace idvault::rp {

// The PIN for a command's parsed options: the file named by --pin-file when given, else
// $IDVAULT_PINENTRY, else the terminal, with the prompt "Token PIN". Throws
// pin::PinError (a std::runtime_error: exit status 1) when none of them gives one.
[[nodiscard]] inline SecretBytes read_token_pin(const boost::program_options::variables_map& vm) {
  const std::optional<std::string> pin_file =
      vm.count("pin-file") ? std::optional(vm["pin-file"].as<std::string>()) : std::nullopt;
  return pin::read_pin(pin_file, "Token PIN");
}

}  // namespace idvault::rp
