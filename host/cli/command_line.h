// One subcommand's command line: its options, positional arguments and --help, parsed
// with Boost.Program_options; every mistake is a UsageError with one line.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace idvault::cli {

namespace po = boost::program_options;

struct CommandLine {
  std::string synopsis;             // "idvault get TYPE [--files-dir D]"
  std::string summary;              // one sentence for --help
  po::options_description options;  // shown by --help (which the constructor adds)
  po::options_description hidden;   // the positional arguments
  po::positional_options_description positional;
  std::vector<std::string> positional_names;  // in order, for "missing TYPE" messages
  std::size_t required_positionals = 0;

  explicit CommandLine(std::string synopsis_text, std::string summary_text);
  // Declares a positional argument; required ones come first.
  CommandLine& argument(const std::string& name, bool required, int max_count = 1);

  // The parsed values, or nullopt after printing --help to stdout.
  [[nodiscard]] std::optional<po::variables_map> parse(const std::vector<std::string>& args);
};

// --json: the command prints one JSON document on stdout, of the shape docs/AGENT.md
// gives for it, instead of lines for people (design.md: every command that prints
// something a program may read takes it).
void add_json_option(CommandLine& command, const char* what = "print JSON, for programs");
[[nodiscard]] bool wants_json(const po::variables_map& vm);

// Value of an option if given.
template <typename T>
std::optional<T> optional_value(const po::variables_map& vm, const char* name) {
  if (!vm.count(name)) return std::nullopt;
  return vm[name].as<T>();
}

}  // namespace idvault::cli
