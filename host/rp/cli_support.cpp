#include "host/rp/cli_support.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/process_hardening.h"

namespace idvault::rp {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > 0) {
    text.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    in.read(text.data(), size);
  }
  if (!in && !in.eof()) throw std::runtime_error("cannot read " + path.string());
  return text;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string keygen_json(const std::string& key_uri, const std::string& algorithm,
                        const std::string& public_key_pem, const std::string& public_key_sha256) {
  nlohmann::ordered_json json = {{"key_uri", key_uri},
                                 {"algorithm", algorithm},
                                 {"public_key_pem", public_key_pem},
                                 {"public_key_sha256", public_key_sha256}};
  return json.dump(2);
}

std::optional<boost::program_options::variables_map> parse_command_line(
    const std::vector<std::string>& args,
    const boost::program_options::options_description& options, const std::string& usage_line,
    const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::command_line_parser parser(args);
    parser.options(all);
    // No abbreviations: "--pin 1234" must be an error, not a guess at --pin-file.
    parser.style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
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

int run_command_verbs(const char* program, const char* usage, const std::vector<CommandVerb>& verbs, int argc,
                      char** argv) {
  // The token PIN and decrypted personal data pass through these tools, as through the
  // holder's agent: no core files, no ptrace or /proc/PID/mem by same-uid processes.
  // Everything they create (serve's database and its WAL, decrypted files, keys) is
  // private from its first byte whatever umask they were started with.
  harden_process();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  const std::string verb = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    for (const CommandVerb& candidate : verbs) {
      if (verb == candidate.name) return candidate.run(args);
    }
    std::cerr << program << ": unknown command '" << verb.substr(0, 40) << "'\n" << usage;
    return 2;
  } catch (const UsageError& e) {
    std::cerr << program << " " << verb << ": " << e.what() << " (see " << program << " " << verb << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << " " << verb << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace idvault::rp
