// idvault-cardsim: a simulated PIV smart card that OpenSC reaches through pcscd's
// virtual reader (vpcd). See docs/CARDSIM.md.
#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "firmware-sim/card_personalisation.h"
#include "firmware-sim/card_simulator.h"
#include "firmware-sim/card_state.h"
#include "firmware-sim/errors.h"
#include "firmware-sim/log.h"
#include "firmware-sim/piv_objects.h"
#include "firmware-sim/signal_events.h"

namespace po = boost::program_options;
using namespace idvault::cardsim;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: idvault-cardsim init --state FILE [--pin PIN | --pin-file F] [--puk PUK | --puk-file "
    "F]\n"
    "                            [--rsa-bits 1024|2048|3072] [--label TEXT] [--force]\n"
    "       idvault-cardsim run  --state FILE [--vpcd HOST:PORT] [--fault SPEC]... [--reconnect]\n"
    "                            [--reinsert-after-ms N] [--connect-timeout-ms N] [--log-level L]\n"
    "       idvault-cardsim info --state FILE\n"
    "A simulated PIV smart card for OpenSC, plugged into pcscd's virtual reader (vpcd).\n"
    "Run 'idvault-cardsim COMMAND --help' for a command's options.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads a PIN or PUK file: its first line, without the newline.
WipedBytes read_secret_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CardsimError(std::string("cannot read ") + what + " file " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  WipedBytes secret = WipedBytes::from_text(line);
  idvault::cardsim::detail::cleanse(line.data(), line.size());
  return secret;
}

WipedBytes secret_option(const po::variables_map& vm, const char* name, const char* file_name,
                         const char* fallback) {
  if (vm.count(name) && vm.count(file_name)) {
    throw UsageError(std::string("give --") + name + " or --" + file_name + ", not both");
  }
  if (vm.count(file_name)) return read_secret_file(vm[file_name].as<std::string>(), name);
  if (vm.count(name)) return WipedBytes::from_text(vm[name].as<std::string>());
  return WipedBytes::from_text(fallback);
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& desc) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  return vm;  // notify (required options) only after --help had its chance
}

bool wants_help(po::variables_map& vm, const po::options_description& desc) {
  if (!vm.count("help")) {
    po::notify(vm);
    return false;
  }
  std::cout << kUsage << "\n" << desc;
  return true;
}

int command_init(const std::vector<std::string>& args) {
  po::options_description desc("init: personalise a new card into a state file");
  desc.add_options()("help,h", "show this help")("state", po::value<std::string>()->required(),
                                                 "state file to create (mode 0600)")(
      "pin", po::value<std::string>(), "PIN, 6-8 digits (default 123456; test device only)")(
      "pin-file", po::value<std::string>(), "read the PIN from the first line of this file")(
      "puk", po::value<std::string>(), "PUK, 6-8 characters (default 12345678)")(
      "puk-file", po::value<std::string>(), "read the PUK from the first line of this file")(
      "rsa-bits", po::value<unsigned>()->default_value(2048),
      "RSA size for slot 9D: 1024, 2048 or 3072")(
      "label", po::value<std::string>()->default_value("idvault-cardsim"),
      "card label (CN of the 9A certificate)")("force", "overwrite an existing state file");
  auto vm = parse(args, desc);
  if (wants_help(vm, desc)) return 0;
  const std::filesystem::path state_file = vm["state"].as<std::string>();
  if (std::filesystem::exists(state_file) && !vm.count("force")) {
    throw CardsimError("state file " + state_file.string() + " exists; use --force to replace it");
  }
  PersonalisationOptions options;
  options.pin = secret_option(vm, "pin", "pin-file", "123456");
  options.puk = secret_option(vm, "puk", "puk-file", "12345678");
  options.rsa_bits = vm["rsa-bits"].as<unsigned>();
  options.label = vm["label"].as<std::string>();
  const CardState state = personalise_card(options);
  save_card_state(state_file, state);
  std::cout << "card personalised: label \"" << state.label << "\", serial "
            << opensc_token_serial(state.guid) << ", state in " << state_file.string() << "\n";
  return 0;
}

int command_info(const std::vector<std::string>& args) {
  po::options_description desc("info: show a card's public facts and retry counters");
  desc.add_options()("help,h", "show this help")("state", po::value<std::string>()->required(),
                                                 "state file");
  auto vm = parse(args, desc);
  if (wants_help(vm, desc)) return 0;
  const CardState state = load_card_state(vm["state"].as<std::string>());
  std::cout << "label: " << state.label << "\n"
            << "guid: " << to_hex(state.guid) << "\n"
            << "serial: " << opensc_token_serial(state.guid) << "\n"
            << "pin_tries_left: " << state.pin_tries_left << "\n"
            << "puk_tries_left: " << state.puk_tries_left << "\n";
  for (const auto& [ref, slot] : state.slots) {
    std::cout << "slot " << to_hex(ByteView(&ref, 1)) << ": algorithm "
              << to_hex(std::vector<std::uint8_t>{static_cast<std::uint8_t>(slot.key.algorithm())})
              << ", " << slot.key.size_bytes() * 8 << " bits\n";
  }
  return 0;
}

LogLevel parse_log_level(const std::string& text) {
  if (text == "error") return LogLevel::error;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  throw UsageError("--log-level " + text + ": expected error, info or debug");
}

int command_run(const std::vector<std::string>& args) {
  po::options_description desc("run: plug the card into vpcd and answer APDUs until SIGTERM");
  desc.add_options()("help,h", "show this help")(
      "state", po::value<std::string>()->required(),
      "state file made by init (retry counters are written back)")(
      "vpcd", po::value<std::string>()->default_value("127.0.0.1:35963"),
      "vpcd address (slot 0 = 35963)")("fault", po::value<std::vector<std::string>>()->composing(),
                                       "remove-after=N | delay-ms=N | error-after=N (repeatable)")(
      "reconnect", "reinsert the card after a fault removal or after vpcd closed the link")(
      "reinsert-after-ms", po::value<unsigned>(),
      "reinsert this long after a removal (implies --reconnect; default 1000)")(
      "connect-timeout-ms", po::value<unsigned>()->default_value(10000),
      "give up connecting to vpcd after this long")(
      "log-level", po::value<std::string>()->default_value("info"),
      "error, info or debug (debug: one line per APDU, PINs masked)");
  auto vm = parse(args, desc);
  if (wants_help(vm, desc)) return 0;
  set_log_level(parse_log_level(vm["log-level"].as<std::string>()));

  SimulatorOptions options;
  options.vpcd = parse_vpcd_endpoint(vm["vpcd"].as<std::string>());
  if (vm.count("fault")) options.faults = parse_faults(vm["fault"].as<std::vector<std::string>>());
  options.reconnect = vm.count("reconnect") > 0 || vm.count("reinsert-after-ms") > 0;
  if (vm.count("reinsert-after-ms"))
    options.reinsert_after = std::chrono::milliseconds(vm["reinsert-after-ms"].as<unsigned>());
  options.connect_timeout = std::chrono::milliseconds(vm["connect-timeout-ms"].as<unsigned>());

  SignalEvents events;  // before anything could start a thread
  const std::filesystem::path state_file = vm["state"].as<std::string>();
  CardState state = load_card_state(state_file);
  PivApplet applet(state, [state_file](const CardState& s) { save_card_state(state_file, s); });
  CardSimulator simulator(applet, options, events);
  simulator.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> all(argv + 1, argv + argc);
  try {
    if (all.empty()) {
      std::cerr << kUsage;
      return kExitUsage;
    }
    const std::string& command = all.front();
    const std::vector<std::string> rest(all.begin() + 1, all.end());
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (command == "init") return command_init(rest);
    if (command == "run") return command_run(rest);
    if (command == "info") return command_info(rest);
    throw UsageError("unknown command '" + command + "' (expected init, run or info; see --help)");
  } catch (const po::error& e) {
    std::cerr << "idvault-cardsim: " << e.what() << " (see --help)\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "idvault-cardsim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "idvault-cardsim: " << e.what() << "\n";
    return kExitFailure;
  }
}
