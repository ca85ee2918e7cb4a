// The token PIN for a service-side command: from a file (--pin-file, first line) or typed
// at the terminal with echo off. Never from argv or the environment, where other users
// and crash reports can read it.
#pragma once

#include <boost/program_options/variables_map.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "pkcs11/secret_bytes.h"

namespace idvault::rp {

// Throws std::runtime_error naming the file when it cannot be read or is empty, and when
// there is no file and no terminal to ask on. Warns on stderr if the file is readable by
// group or others.
[[nodiscard]] SecretBytes read_pin(const std::optional<std::string>& pin_file,
                                   std::string_view prompt);

// The same for a command's parsed options: the file named by --pin-file when given,
// else the terminal, with the prompt "Token PIN: ".
[[nodiscard]] SecretBytes read_token_pin(const boost::program_options::variables_map& vm);

}  // namespace idvault::rp
