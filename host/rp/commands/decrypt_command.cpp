// idvault-rp decrypt: received shares in, one JSON line each out, in input order.
//
// --jobs N runs N workers, each with its own reader and decryptor (arena, OpenSSL
// contexts); the RSA step of each borrows its own session from the token's pool, so the
// HSM works on N shares at once. Lines are printed in input order as soon as each is ready.
#include <atomic>
#include <iostream>
#include <iterator>
#include <mutex>
#include <thread>

#include "common/cli/command_line.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "host/rp/service/service_token.h"
#include "host/rp/share/received_share.h"
#include "host/rp/share/share_intake.h"
#include "pkcs11/error.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"

namespace idvault::rp {

namespace po = boost::program_options;

namespace {

struct Outcome {
  bool done = false;
  bool ok = false;
  std::string text;  // the JSON line, or the error
};

std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return read_text_file(path);
}

// One line a person can act on; never the plaintext, never key material.
std::string describe_failure(const std::exception& e) {
  if (dynamic_cast<const vault::DecryptError*>(&e) != nullptr) {
    return std::string(e.what()) + " (tampered, or not encrypted to this key)";
  }
  return e.what();
}

}  // namespace

int run_decrypt(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp decrypt");
  std::string module;
  std::string key_uri;
  unsigned jobs = 1;
  pin::add_module_option(options, module);
  options.add_options()("key", po::value(&key_uri)->required(),
                        "URI of the service key, e.g. pkcs11:token=service;object=rp");
  pin::add_pin_file_option(options);
  options.add_options()("nonce", po::value<std::string>(), "the nonce every input must carry")(
      "files-dir", po::value<std::string>(),
      "encrypted files by file_id, for bare PassportData inputs")(
      "out-dir", po::value<std::string>(), "write decrypted files here (0600), named by file_id")(
      "trust-verifier", po::value<std::vector<std::string>>(),
      "a verification provider's public key PEM (repeatable)")(
      "jobs", po::value(&jobs), "decrypt this many inputs at once (threads, HSM sessions)")(
      "json", "print JSON lines (what decrypt prints already)")(
      "input", po::value<std::vector<std::string>>()->required(),
      "bundle or PassportData JSON files ('-' = stdin)");
  po::positional_options_description positional;
  positional.add("input", -1);
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-rp decrypt --module SO --key URI [--pin-file F] [--nonce N] "
      "[--files-dir D] [--out-dir D] [--trust-verifier PEM]... [--jobs N] [--json] INPUT...",
      &positional);
  if (!vm) return 0;
  if (jobs < 1 || jobs > 64) throw cli::UsageError("--jobs must be between 1 and 64");
  const auto inputs = (*vm)["input"].as<std::vector<std::string>>();

  IntakeOptions intake_options;
  if (vm->count("nonce")) intake_options.expected_nonce = (*vm)["nonce"].as<std::string>();
  if (vm->count("out-dir")) intake_options.out_dir = (*vm)["out-dir"].as<std::string>();
  if (vm->count("trust-verifier")) {
    for (const auto& path : (*vm)["trust-verifier"].as<std::vector<std::string>>()) {
      intake_options.trusted_verifiers.push_back(
          vault::verifier_key_from_pem(read_text_file(path), path));
    }
  }
  intake_options.now = unix_now();
  std::optional<std::filesystem::path> files_dir;
  if (vm->count("files-dir")) files_dir = (*vm)["files-dir"].as<std::string>();

  ServiceToken service = ServiceToken::open(module, key_uri, pin::read_token_pin(*vm));
  const vault::TokenServiceKey key = service.service_key(key_uri);

  std::vector<Outcome> outcomes(inputs.size());
  std::mutex mutex;  // guards outcomes, printed, status and the output streams
  std::size_t printed = 0;
  int status = 0;
  // Whoever completes an input prints every line that is now next in order.
  const auto print_ready = [&] {
    while (printed < outcomes.size() && outcomes[printed].done) {
      Outcome& outcome = outcomes[printed];
      if (outcome.ok) {
        std::cout << outcome.text << "\n";
      } else {
        std::cerr << "idvault-rp decrypt: " << inputs[printed] << ": " << outcome.text << "\n";
        status = 1;
      }
      outcome.text = std::string();
      ++printed;
    }
    std::cout.flush();
  };
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    ShareReader reader;
    ShareIntake intake(key);
    for (std::size_t i = next++; i < inputs.size(); i = next++) {
      Outcome outcome;
      try {
        const std::string text = read_input(inputs[i]);
        const ReceivedShare& share = reader.read(text, files_dir);
        outcome.text = intake.accept(share, intake_options).dump();
        outcome.ok = true;
      } catch (const std::exception& e) {
        outcome.text = describe_failure(e);
      }
      intake.wipe();
      outcome.done = true;
      std::lock_guard lock(mutex);
      outcomes[i] = std::move(outcome);
      print_ready();
    }
  };
  // The calling thread works too, so --jobs 1 runs on one thread.
  std::vector<std::thread> workers;
  const std::size_t threads = std::min<std::size_t>(jobs, inputs.size());
  for (std::size_t t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  return status;
}

}  // namespace idvault::rp
