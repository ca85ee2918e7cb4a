#include "host/cli/command_line.h"

#include <iostream>

#include "host/cli/cli_error.h"

namespace idvault::cli {

CommandLine::CommandLine(std::string synopsis_text, std::string summary_text)
    : synopsis(std::move(synopsis_text)),
      summary(std::move(summary_text)),
      options("options"),
      hidden("arguments") {
  options.add_options()("help,h", "show this help");
}

CommandLine& CommandLine::argument(const std::string& name, bool required, int max_count) {
  hidden.add_options()(
      name.c_str(),
      max_count == 1 ? po::value<std::string>()
                     : static_cast<po::value_semantic*>(po::value<std::vector<std::string>>()),
      "");
  positional.add(name.c_str(), max_count);
  positional_names.push_back(name);
  if (required) ++required_positionals;
  return *this;
}

std::optional<po::variables_map> CommandLine::parse(const std::vector<std::string>& args) {
  po::variables_map vm;
  try {
    po::options_description all;
    all.add(options).add(hidden);
    // No prefix guessing: "--pin 1234" must be an error, not a guess at --pin-file.
    const int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(all).positional(positional).style(style).run(),
              vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    throw UsageError("too many arguments; usage: " + synopsis);
  } catch (const po::error& error) {
    throw UsageError(std::string(error.what()) + "; usage: " + synopsis);
  }
  if (vm.count("help")) {
    std::cout << "usage: " << synopsis << "\n\n" << summary << "\n\n" << options;
    return std::nullopt;
  }
  for (std::size_t i = 0; i < required_positionals; ++i) {
    if (!vm.count(positional_names[i]))
      throw UsageError("missing " + positional_names[i] + "; usage: " + synopsis);
  }
  return vm;
}

void add_json_option(CommandLine& command, const char* what) {
  command.options.add_options()("json", what);
}

bool wants_json(const po::variables_map& vm) {
  return vm.count("json") > 0;
}

}  // namespace idvault::cli
