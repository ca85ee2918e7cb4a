// The verbs of idvault-verifier; exit status as idvault-rp's (0 ok, 1 failed, 2 usage).
#pragma once

#include <string>
#include <vector>

namespace idvault::verifier {

int run_keygen(const std::vector<std::string>& args);
int run_attest(const std::vector<std::string>& args);
int run_verify(const std::vector<std::string>& args);

}  // namespace idvault::verifier
