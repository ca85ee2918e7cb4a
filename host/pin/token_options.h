// The options by which a service-side command (idvault-rp keygen, decrypt, errors, serve;
// idvault-verifier keygen, attest) names the PKCS#11 module its keys are on and where the
// token PIN comes from: --module SO and --pin-file F, spelled and explained alike in
// each. The token or key URI options stay with each command (what they name differs).
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <string>

#include "common/secret_bytes.h"

namespace idvault::pin {

// --module SO (required), stored in `module`.
void add_module_option(boost::program_options::options_description& options, std::string& module);

// --pin-file F: the user PIN from a file, else $IDVAULT_PINENTRY, else a prompt.
void add_pin_file_option(boost::program_options::options_description& options);

// The PIN for a command's parsed options, read by the PIN reader every idvault tool
// shares (pin_source.h): the file named by --pin-file when given, else
// $IDVAULT_PINENTRY, else the terminal, with the prompt "Token PIN" — never argv or the
// environment. Throws PinError (a std::runtime_error: exit status 1) when none of them
// gives one.
[[nodiscard]] SecretBytes read_token_pin(const boost::program_options::variables_map& vm);

}  // namespace idvault::pin
