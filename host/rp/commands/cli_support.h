// What every idvault-rp / idvault-verifier command needs around its real work: reading
// input files, a usage error type, and the clock.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace idvault::rp {

// Wrong or missing command-line arguments: exit status 2 with the message and a hint.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole file. Throws std::runtime_error("cannot read <path>: <reason>").
[[nodiscard]] std::string read_text_file(const std::filesystem::path& path);

[[nodiscard]] std::int64_t unix_now();

// Parses args against options (and positionals, if any). Returns nullopt after printing
// usage when --help was given; throws UsageError for anything Boost refuses.
[[nodiscard]] std::optional<boost::program_options::variables_map> parse_command_line(
    const std::vector<std::string>& args,
    const boost::program_options::options_description& options, const std::string& usage_line,
    const boost::program_options::positional_options_description* positional = nullptr);

// The printed summary of a key made on a token, --json's shape for keygen:
// {"key_uri", "algorithm", "public_key_pem", "public_key_sha256"}.
[[nodiscard]] std::string keygen_json(const std::string& key_uri, const std::string& algorithm,
                                      const std::string& public_key_pem,
                                      const std::string& public_key_sha256);

// One verb of a multi-command tool (idvault-rp keygen, idvault-verifier attest, ...).
struct CommandVerb {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};

// The tool's main: picks the verb from argv[1] and runs it with the rest; --help, -h or
// no verb prints usage. Exit status 2 and one stderr line for a usage error, 1 and one
// line naming the verb for any other failure.
[[nodiscard]] int run_command_verbs(const char* program, const char* usage, const std::vector<CommandVerb>& verbs,
                                    int argc, char** argv);

}  // namespace idvault::rp
