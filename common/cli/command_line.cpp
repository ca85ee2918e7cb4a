#include "common/cli/command_line.h"

#include <iostream>

#include "common/cli/cli_error.h"

namespace idvault::cli {

po::variables_map parse_exactly(const std::vector<std::string>& args,
                                const po::options_description& options,
                                const po::positional_options_description* positional) {
  po::command_line_parser parser(args);
  parser.options(options);
  parser.style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing);
  if (positional) parser.positional(*positional);
  po::variables_map vm;
  po::store(parser.run(), vm);
  return vm;
}

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
    vm = parse_exactly(args, all, &positional);
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

std::optional<po::variables_map> parse_command_line(
    const std::vector<std::string>& args, const po::options_description& options,
    const std::string& usage_line, const po::positional_options_description* positional) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    vm = parse_exactly(args, all, positional);
    if (vm.count("help") != 0) {
      std::cout << usage_line << "\n" << all;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
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
