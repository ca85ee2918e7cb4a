// One command's command line, parsed with Boost.Program_options the same way in every
// idvault tool: no abbreviated options, --help on every command, and every mistake a
// UsageError (exit status 2) with one line.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/cli/cli_error.h"

namespace idvault::cli {

namespace po = boost::program_options;

// Boost's parser as every tool runs it: the options (and positionals, if any) from args,
// stored but not yet notified. No prefix guessing: "--pin 1234" must be an error, not a
// guess at --pin-file. Throws po::error.
[[nodiscard]] po::variables_map parse_exactly(const std::vector<std::string>& args,
                                              const po::options_description& options,
                                              const po::positional_options_description* positional);

// The holder CLI's subcommands (idvault get, idvault authorize, ...): a synopsis and a
// summary for --help, mistakes end in "; usage: SYNOPSIS".
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

// The service tools' verbs (idvault-rp keygen, idvault-verifier attest, ...): options
// listed under the verb's name, a usage line for --help; the verb runner
// (command_verbs.h) adds "(see TOOL VERB --help)" to a mistake. Returns nullopt after
// printing usage when --help was given; throws UsageError for anything Boost refuses.
[[nodiscard]] std::optional<po::variables_map> parse_command_line(
    const std::vector<std::string>& args, const po::options_description& options,
    const std::string& usage_line, const po::positional_options_description* positional = nullptr);

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
