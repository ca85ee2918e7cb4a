#include "host/cli/pin_args.h"

#include "common/cli/cli_error.h"
#include "host/pin/pin_source.h"

namespace idvault::cli {

void add_pin_options(CommandLine& command) {
  command.options.add_options()("pin-file", po::value<std::string>(),
                                "read the PIN from this file (first line)")(
      "allow-final-try", "spend the token's last PIN try if it comes to that");
}

SecretBytes read_pin(const std::optional<std::string>& pin_file, const std::string& prompt) {
  try {
    return pin::read_pin(pin_file, prompt);
  } catch (const pin::PinError& error) {
    throw UsageError(error.what());
  }
}

std::string pin_prompt(AgentClient& agent) {
  nlohmann::json status = agent.call("status");
  std::string token = status.value("token_label", std::string());
  return token.empty() ? "PIN for the token" : "PIN for token '" + token + "'";
}

SecretRequest pin_request(AgentClient& agent, const char* method, const po::variables_map& vm) {
  SecretBytes pin = read_pin(optional_value<std::string>(vm, "pin-file"), pin_prompt(agent));
  SecretRequest request(method, agent.next_id());
  request.add_text("pin", pin);
  request.add_plain("allow_final_try", vm.count("allow-final-try") > 0);
  return request;
}

}  // namespace idvault::cli
