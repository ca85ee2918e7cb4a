// The verbs of idvault-rp. Each parses its own options (Boost.Program_options), does its
// job and returns the exit status: 0 ok, 1 an input or token failed (one line on stderr
// each), 2 usage. Exceptions that escape are reported by main as one line.
#pragma once

#include <string>
#include <vector>

namespace idvault::rp {

int run_keygen(const std::vector<std::string>& args);
int run_request(const std::vector<std::string>& args);
int run_decrypt(const std::vector<std::string>& args);
int run_errors(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_forget(const std::vector<std::string>& args);

}  // namespace idvault::rp
