#include "host/pin/token_options.h"

#include <boost/program_options/value_semantic.hpp>
#include <optional>

#include "host/pin/pin_source.h"

namespace idvault::pin {

namespace po = boost::program_options;

void add_module_option(po::options_description& options, std::string& module) {
  options.add_options()("module", po::value(&module)->required(), "PKCS#11 module (.so)");
}

void add_pin_file_option(po::options_description& options) {
  options.add_options()("pin-file", po::value<std::string>(),
                        "read the user PIN from this file (else $IDVAULT_PINENTRY, else prompt)");
}

SecretBytes read_token_pin(const po::variables_map& vm) {
  const std::optional<std::string> pin_file =
      vm.count("pin-file") ? std::optional(vm["pin-file"].as<std::string>()) : std::nullopt;
  return read_pin(pin_file, "Token PIN");
}

}  // namespace idvault::pin
