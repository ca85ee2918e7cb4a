// bench_rp: the relying party's load tool.
//
//   bench_rp decrypt BUNDLE_DIR [--rounds R] [--bundles N] [--warmup W] [--ptb bench_ptb.py]
//     The reference bundle (tests/interop/bench_gen_bundle.py: 4 elements, 2 MB of files)
//     decrypted with its key imported into a throwaway SoftHSM2 token, so the RSA step
//     runs on the HSM, interleaved by round with the floor and python-telegram-bot:
//       hsm      ShareIntake::accept on the in-memory PassportData and files, as PTB gets
//                them: parse, RSA on the HSM, every value decrypted and hash-checked
//       hsm-2    the same on two threads (two decryptors, two HSM sessions): wall time
//       report   + the JSON line `idvault-rp decrypt` prints (SHA-256 of each plaintext)
//       bundle   a share bundle (base64 files, signed receipt) through ShareReader + report
//       floor    SoftHSM RSA-OAEP op + SHA-256 + AES-256-CBC over the same bytes
//       ptb      python-telegram-bot 13.15 (bench_ptb.py), one process per round
//     Prints medians, bundles/s and the ratios against the goals.
//
//   bench_rp files-dir BUNDLE_DIR --rp IDVAULT_RP --ptb bench_ptb_files.py [--rounds R]
//            [--decrypts N]
//     The Telegram-migration path as whole processes, interleaved by round: `idvault-rp
//     decrypt --files-dir BUNDLE_DIR/files` on N copies of the bare PassportData (1 and 2
//     jobs, the key in SoftHSM2), against python-telegram-bot decrypting the same N from
//     the same files on disk (bench_ptb_files.py, one process). Each side's first output
//     is checked against the manifest. Prints ms per decrypt, the ratios, and where
//     idvault's time goes (token open, reading, decrypting and reporting) measured
//     in-process with the same code.
//
//   bench_rp serve [--clients C] [--posts P]
//     idvault-rp serve's endpoints in-process on a SoftHSM2 key; C clients each POST P
//     distinct holder bundles (personal details, passport with two scans, e-mail) over
//     TCP; prints posts/s and latency percentiles.
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "host/http/server.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/service/callback_service.h"
#include "host/rp/service/service_token.h"
#include "host/rp/service/sqlite_request_store.h"
#include "host/rp/share/received_share.h"
#include "host/rp/share/share_intake.h"
#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/token_resolver.h"
#include "tests/host/rp/http_test_client.h"
#include "tests/host/rp/service_side_fixture.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"
#include "vault/keys/software_keys.h"
#include "vault/signed/share_receipt.h"

namespace fs = std::filesystem;
using namespace idvault;
namespace tst = idvault::testing;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

struct ReferenceBundle {
  std::string passport_data_text;
  std::map<std::string, std::vector<std::uint8_t>> files;
  nlohmann::json manifest;
  std::string bundle_text;  // the same as a share bundle, with a signed receipt
};

ReferenceBundle load(const fs::path& dir, const std::string& service_pem) {
  ReferenceBundle b;
  b.passport_data_text = tst::read_file(dir / "passport_data.json");
  for (const auto& entry : fs::directory_iterator(dir / "files")) {
    const std::string bytes = tst::read_file(entry.path());
    b.files.emplace(entry.path().filename().string(),
                    std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
  }
  b.manifest = nlohmann::json::parse(tst::read_file(dir / "manifest.json"));
  const vault::PassportData pd = vault::parse_passport_data(b.passport_data_text);
  vault::ReceiptFields fields;
  fields.service_id = "bench";
  fields.service_key_sha256 = vault::service_key_fingerprint(service_pem);
  fields.nonce = b.manifest["nonce"];
  fields.credentials_hash = pd.credentials.hash;
  for (const auto& element : pd.data)
    fields.element_hashes[std::string(vault::to_string(element.type))] = element.hash.value();
  fields.time = 1;
  fields.previous = std::string(64, '0');
  const auto identity = vault::SoftwareSigningKey::generate();
  nlohmann::ordered_json bundle;
  bundle["passport_data"] = nlohmann::ordered_json::parse(b.passport_data_text);
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& [id, bytes] : b.files) files[id] = base64_encode(bytes);
  bundle["files"] = std::move(files);
  bundle["receipt"] = vault::to_json(vault::sign_receipt(fields, identity));
  bundle["attestations"] = nlohmann::ordered_json::array();
  b.bundle_text = bundle.dump();
  return b;
}

// A decrypt report (the JSON line idvault-rp decrypt prints) against the manifest's
// SHA-256 of every plaintext.
template <typename Json>
void check_against_manifest(const Json& report, const nlohmann::json& manifest) {
  const auto& want = manifest["plain_sha256"];
  std::size_t checked = 0;
  for (const auto& element : report["elements"]) {
    const std::string type = element["type"];
    for (const char* slot : {"front_side", "selfie"}) {
      if (element.contains(slot)) {
        if (element[slot]["sha256"].template get<std::string>() !=
            want.at(type + "." + slot).template get<std::string>())
          throw std::runtime_error("wrong " + type + "." + slot);
        ++checked;
      }
    }
    if (element.contains("files")) {
      for (std::size_t i = 0; i < element["files"].size(); ++i) {
        if (element["files"][i]["sha256"].template get<std::string>() !=
            want.at(type + ".files." + std::to_string(i)).template get<std::string>())
          throw std::runtime_error("wrong file");
        ++checked;
      }
    }
  }
  if (checked != 3) throw std::runtime_error("not every file was checked");
}

// One worker's way through a bundle; each owns its reader and intake, as a --jobs worker.
class Worker {
 public:
  Worker(const ReferenceBundle& bundle, const vault::ServiceKey& key)
      : bundle_(bundle), intake_(key) {
    options_.now = 1;
    options_.expected_nonce = bundle.manifest["nonce"].get<std::string>();
  }

  // parse + decrypt + check, no report: what PTB's path does.
  double core() {
    const auto start = Clock::now();
    rp::ReceivedShare share;
    share.passport_data = vault::parse_passport_data(bundle_.passport_data_text);
    for (const auto& [id, bytes] : bundle_.files) share.files.emplace(id, bytes);
    options_.file_digests = false;
    const auto report = intake_.accept(share, options_);
    const double ms = ms_since(start);
    if (report["elements"].size() != 4) throw std::runtime_error("lost an element");
    return ms;
  }

  // + the JSON line idvault-rp decrypt prints (SHA-256 of every plaintext).
  double report() {
    const auto start = Clock::now();
    rp::ReceivedShare share;
    share.passport_data = vault::parse_passport_data(bundle_.passport_data_text);
    for (const auto& [id, bytes] : bundle_.files) share.files.emplace(id, bytes);
    options_.file_digests = true;
    const std::string line = intake_.accept(share, options_).dump();
    const double ms = ms_since(start);
    sink_ += line.size();
    return ms;
  }

  // A share bundle from its JSON text, as `idvault-rp decrypt BUNDLE` reads it.
  double bundle() {
    const auto start = Clock::now();
    const rp::ReceivedShare& share = reader_.read(bundle_.bundle_text, std::nullopt);
    options_.file_digests = true;
    const nlohmann::ordered_json report = intake_.accept(share, options_);
    const std::string line = report.dump();
    const double ms = ms_since(start);
    if (report["receipt"]["valid"] != true) throw std::runtime_error("receipt not valid");
    sink_ += line.size();
    return ms;
  }

  void verify() {
    rp::ReceivedShare share;
    share.passport_data = vault::parse_passport_data(bundle_.passport_data_text);
    for (const auto& [id, bytes] : bundle_.files) share.files.emplace(id, bytes);
    options_.file_digests = true;
    check_against_manifest(intake_.accept(share, options_), bundle_.manifest);
  }
  [[nodiscard]] std::size_t sink() const { return sink_; }

 private:
  const ReferenceBundle& bundle_;
  rp::ShareReader reader_;
  rp::ShareIntake intake_;
  rp::IntakeOptions options_;
  std::size_t sink_ = 0;
};

// RSA on the HSM + SHA-256 + AES over the same bytes, nothing else.
class Floor {
 public:
  Floor(const ReferenceBundle& bundle, const vault::ServiceKey& key) : key_(key) {
    const vault::PassportData pd = vault::parse_passport_data(bundle.passport_data_text);
    rsa_ciphertext_ = base64_decode(pd.credentials.secret, "secret");
    ciphertext_ = base64_decode(pd.credentials.data, "data");
    for (const auto& el : pd.data) {
      if (el.data) {
        const auto bytes = base64_decode(*el.data, "data");
        ciphertext_.insert(ciphertext_.end(), bytes.begin(), bytes.end());
      }
    }
    for (const auto& [id, bytes] : bundle.files)
      ciphertext_.insert(ciphertext_.end(), bytes.begin(), bytes.end());
    if (ciphertext_.size() != bundle.manifest["total_cipher_bytes"].get<std::size_t>()) {
      throw std::runtime_error("floor: byte count differs from the manifest");
    }
    plaintext_.resize(ciphertext_.size());
  }

  double one() {
    const auto start = Clock::now();
    const SecretBytes secret = key_.decrypt_oaep_sha1(rsa_ciphertext_);
    unsigned char digest[32];
    unsigned digest_size = 0;
    openssl::check(EVP_DigestInit_ex2(sha_.get(), openssl::sha256(), nullptr),
                   "EVP_DigestInit_ex2");
    openssl::check(EVP_DigestUpdate(sha_.get(), ciphertext_.data(), ciphertext_.size()),
                   "EVP_DigestUpdate");
    openssl::check(EVP_DigestFinal_ex(sha_.get(), digest, &digest_size), "EVP_DigestFinal_ex");
    int written = 0;
    openssl::check(EVP_DecryptInit_ex2(aes_.get(), openssl::aes_256_cbc(), key_bytes_,
                                       key_bytes_ + 32, nullptr),
                   "EVP_DecryptInit_ex2");
    openssl::check(EVP_CIPHER_CTX_set_padding(aes_.get(), 0), "set_padding");
    openssl::check(EVP_DecryptUpdate(aes_.get(), plaintext_.data(), &written, ciphertext_.data(),
                                     static_cast<int>(ciphertext_.size())),
                   "EVP_DecryptUpdate");
    const double ms = ms_since(start);
    sink_ ^= digest[0] ^ plaintext_[ciphertext_.size() / 2] ^ secret.reveal()[0];
    return ms;
  }
  [[nodiscard]] unsigned sink() const { return sink_; }

 private:
  const vault::ServiceKey& key_;
  std::vector<std::uint8_t> rsa_ciphertext_, ciphertext_, plaintext_;
  openssl::DigestCtx sha_ = openssl::make_digest_ctx();
  openssl::CipherCtx aes_ = openssl::make_cipher_ctx();
  unsigned char key_bytes_[48] = {1, 2, 3};
  unsigned sink_ = 0;
};

struct PipeCloser {
  void operator()(FILE* pipe) const noexcept { pclose(pipe); }
};

std::vector<double> run_ptb(const std::string& script, const fs::path& bundle, int runs,
                            int warmup) {
  const std::string command = "/usr/bin/python3 '" + script + "' '" + bundle.string() +
                              "' --runs " + std::to_string(runs) + " --warmup " +
                              std::to_string(warmup) + " 2>/dev/null";
  const std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::vector<double> out;
  char line[512];
  const std::string prefix = "result\tptb_bundle_total_ms\t";
  while (std::fgets(line, sizeof line, pipe.get()) != nullptr) {
    const std::string text(line);
    if (text.starts_with(prefix)) out.push_back(std::stod(text.substr(prefix.size())));
  }
  if (static_cast<int>(out.size()) != runs)
    throw std::runtime_error("python-telegram-bot run failed: " + command);
  return out;
}

double process_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// CPU time of the process per bundle in the last two_jobs / one-job loop: on a shared,
// loaded machine a second job may find no free core, and this tells that apart from
// work we add by running two.
double last_cpu_per_bundle = 0;

// Two workers, n bundles each, at once: wall time per bundle.
double two_jobs(Worker& a, Worker& b, int n, double (Worker::*mode)()) {
  const double cpu_start = process_cpu_ms();
  const auto start = Clock::now();
  std::thread other([&] {
    for (int i = 0; i < n; ++i) (void)(b.*mode)();
  });
  for (int i = 0; i < n; ++i) (void)(a.*mode)();
  other.join();
  last_cpu_per_bundle = (process_cpu_ms() - cpu_start) / (2.0 * n);
  return ms_since(start) / (2.0 * n);
}

int bench_decrypt(const fs::path& dir, int rounds, int bundles, int warmup,
                  const std::string& ptb) {
  tst::SoftHsmEnvironment env;
  env.add_token("bench");
  if (tst::run_quietly({"softhsm2-util", "--import", (dir / "key.pem").string(), "--token", "bench",
                        "--label", "bench", "--id", "0b0b", "--pin", tst::kDefaultPin}) != 0) {
    throw std::runtime_error("cannot import key.pem into the token");
  }
  const std::string key_uri = "pkcs11:token=bench;object=bench";
  const rp::ServiceToken token = rp::ServiceToken::open(tst::softhsm_module_path(), key_uri,
                                                        SecretBytes::from_string(tst::kDefaultPin));
  const vault::TokenServiceKey key = token.service_key(key_uri);
  const ReferenceBundle bundle = load(dir, key.public_key_pem());
  Worker first(bundle, key);
  Worker second(bundle, key);
  Floor floor(bundle, key);
  first.verify();
  const double megabytes = bundle.manifest["total_cipher_bytes"].get<double>() / 1e6;
  std::cout << "info\tbundle\t" << bundle.manifest["total_cipher_bytes"] << " ciphertext bytes, "
            << bundle.files.size()
            << " files, key imported into SoftHSM2; verified against the manifest\n"
            << "info\topenssl\t" << OpenSSL_version(OPENSSL_VERSION) << "\n";

  std::map<std::string, std::vector<double>> samples;
  for (int round = 0; round < rounds; ++round) {
    const auto run = [&](const std::string& name, const std::function<double()>& one) {
      for (int i = 0; i < warmup; ++i) (void)one();
      for (int i = 0; i < bundles; ++i) samples[name].push_back(one());
    };
    {
      const double cpu_start = process_cpu_ms();
      run("hsm", [&] { return first.core(); });
      samples["hsm-cpu"].push_back((process_cpu_ms() - cpu_start) / (bundles + warmup));
    }
    run("floor", [&] { return floor.one(); });
    run("report", [&] { return first.report(); });
    run("bundle", [&] { return first.bundle(); });
    (void)two_jobs(first, second, warmup, &Worker::core);
    samples["hsm-2"].push_back(two_jobs(first, second, bundles, &Worker::core));
    samples["hsm-2-cpu"].push_back(last_cpu_per_bundle);
    samples["bundle-2"].push_back(two_jobs(first, second, bundles, &Worker::bundle));
    if (!ptb.empty()) {
      const auto times = run_ptb(ptb, dir, bundles, warmup);
      samples["ptb"].insert(samples["ptb"].end(), times.begin(), times.end());
    }
    std::cout << "round\t" << round + 1;
    for (const char* name : {"hsm", "hsm-2", "floor", "ptb"}) {
      if (!samples[name].empty())
        std::cout << "\t" << name << " " << median(samples[name]) << " ms";
    }
    std::cout << std::endl;
  }
  const auto report = [&](const std::string& name, const char* what) {
    const double ms = median(samples[name]);
    std::printf("result\t%-8s\t%.3f ms/bundle\t%5.0f bundles/s\t%4.0f MB/s\t%s\n", name.c_str(), ms,
                1000 / ms, megabytes / ms * 1000, what);
  };
  report("hsm", "1 job: parse + RSA on SoftHSM + decrypt and check every value (PTB's work)");
  report("hsm-2", "2 jobs, wall time per bundle");
  report("report", "1 job: + the JSON line with each plaintext's SHA-256");
  report("bundle", "1 job: a share bundle (base64 files, receipt) read, decrypted, reported");
  report("bundle-2", "2 jobs, wall time per bundle");
  report("floor", "RSA on SoftHSM + SHA-256 + AES-256-CBC over the same bytes");
  std::printf(
      "result\tcpu\t\t%.3f ms/bundle with 1 job, %.3f ms/bundle with 2 (process CPU time; equal "
      "means\n"
      "\t\t\tthe second job adds no work, and a 2-job wall time above half the 1-job one means no "
      "free core)\n",
      median(samples["hsm-cpu"]), median(samples["hsm-2-cpu"]));
  const double hsm = median(samples["hsm"]);
  std::printf("ratio\thsm/floor\t%.2f  (bundles/s; goal >= 0.90)\n",
              median(samples["floor"]) / hsm);
  if (!ptb.empty()) {
    report("ptb", "python-telegram-bot 13.15, software key, one process");
    const double p = median(samples["ptb"]);
    std::printf("ratio\thsm/ptb\t\t%.2f  (bundles/s, 1 job; goal >= 1.40)\n", p / hsm);
    std::printf("ratio\thsm-2/ptb\t%.2f  (bundles/s, 2 jobs; goal >= 2.40)\n",
                p / median(samples["hsm-2"]));
    std::printf("ratio\treport/ptb\t%.2f  (with the SHA-256 of each plaintext in the output)\n",
                p / median(samples["report"]));
    std::printf("ratio\tbundle/ptb\t%.2f  (from a share bundle's JSON: base64 + receipt)\n",
                p / median(samples["bundle"]));
    std::printf("ratio\tbundle-2/ptb\t%.2f\n", p / median(samples["bundle-2"]));
  }
  std::printf("info\tsamples\t%d rounds x %d bundles (+%d warm-up each); sinks %zu %u\n", rounds,
              bundles, warmup, first.sink() + second.sink(), floor.sink());
  return 0;
}

// The bench's SoftHSM2 token with BUNDLE_DIR/key.pem imported as "bench".
struct ImportedKey {
  explicit ImportedKey(const fs::path& key_pem) {
    env.add_token("bench");
    if (tst::run_quietly({"softhsm2-util", "--import", key_pem.string(), "--token", "bench",
                          "--label", "bench", "--id", "0b0b", "--pin", tst::kDefaultPin}) != 0) {
      throw std::runtime_error("cannot import key.pem into the token");
    }
  }
  tst::SoftHsmEnvironment env;
  const std::string uri = "pkcs11:token=bench;object=bench";
};

std::string shell_quoted(const std::string& word) {
  return "'" + word + "'";
}

double children_cpu_ms() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  const auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

int bench_files_dir(const fs::path& dir, int rounds, int decrypts, const std::string& rp_bin,
                    const std::string& ptb) {
  const ImportedKey key(dir / "key.pem");
  const fs::path pin_file = key.env.token_dir().parent_path() / "pin";
  std::ofstream(pin_file) << tst::kDefaultPin;
  fs::permissions(pin_file, fs::perms::owner_read | fs::perms::owner_write);
  const nlohmann::json manifest = nlohmann::json::parse(tst::read_file(dir / "manifest.json"));
  const fs::path input = dir / "passport_data.json";
  const auto rp_argv = [&](int jobs) {
    std::vector<std::string> argv = {rp_bin,        "decrypt",
                                     "--module",    tst::softhsm_module_path().string(),
                                     "--key",       key.uri,
                                     "--pin-file",  pin_file.string(),
                                     "--files-dir", (dir / "files").string(),
                                     "--jobs",      std::to_string(jobs)};
    for (int i = 0; i < decrypts; ++i) argv.push_back(input.string());
    return argv;
  };
  const std::vector<std::string> ptb_argv = {"/usr/bin/python3", ptb, dir.string(), "--decrypts",
                                             std::to_string(decrypts)};

  // Both sides once, their output checked, before anything is timed.
  {
    std::string command;
    for (const auto& word : rp_argv(2)) command += shell_quoted(word) + " ";
    const std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
    if (!pipe) throw std::runtime_error("cannot run idvault-rp");
    std::string line;
    int lines = 0;
    for (int c = std::fgetc(pipe.get()); c != EOF; c = std::fgetc(pipe.get())) {
      if (c != '\n') {
        line += static_cast<char>(c);
        continue;
      }
      check_against_manifest(nlohmann::json::parse(line), manifest);
      line.clear();
      ++lines;
    }
    if (lines != decrypts) throw std::runtime_error("idvault-rp decrypt printed too few lines");
    if (tst::run_quietly(ptb_argv) != 0)
      throw std::runtime_error("python-telegram-bot run failed: " + ptb);
  }
  std::cout << "info\tfiles-dir\t" << decrypts << " decrypts per process of "
            << manifest["total_cipher_bytes"] << " ciphertext bytes ("
            << manifest["plain_sha256"].size()
            << " values), files read from disk by file_id; both outputs checked against the "
               "manifest\n";

  // Wall time and CPU time of one whole process, per decrypt.
  const auto timed = [&](const std::vector<std::string>& argv, std::vector<double>& wall,
                         std::vector<double>& cpu) {
    const double cpu_start = children_cpu_ms();
    const auto start = Clock::now();
    if (tst::run_quietly(argv) != 0) throw std::runtime_error(argv[1] + " failed");
    wall.push_back(ms_since(start) / decrypts);
    cpu.push_back((children_cpu_ms() - cpu_start) / decrypts);
  };
  std::map<std::string, std::vector<double>> wall, cpu;
  for (int round = 0; round < rounds; ++round) {
    timed(rp_argv(1), wall["idvault"], cpu["idvault"]);
    timed(rp_argv(2), wall["idvault-2"], cpu["idvault-2"]);
    timed(ptb_argv, wall["ptb"], cpu["ptb"]);
    std::cout << "round\t" << round + 1;
    for (const char* name : {"idvault", "idvault-2", "ptb"})
      std::cout << "\t" << name << " " << wall[name].back() << " ms";
    std::cout << std::endl;
  }
  for (const char* name : {"idvault", "idvault-2", "ptb"}) {
    std::printf("result\t%-9s\t%.3f ms/decrypt\t%5.0f decrypts/s\t(process CPU %.3f ms/decrypt)\n",
                name, median(wall[name]), 1000 / median(wall[name]), median(cpu[name]));
  }
  const double p = median(wall["ptb"]);
  std::printf("ratio\tidvault/ptb\t%.2f  (decrypts/s, 1 job; goal >= 1.40)\n",
              p / median(wall["idvault"]));
  std::printf("ratio\tidvault-2/ptb\t%.2f  (decrypts/s, 2 jobs; goal >= 2.40)\n",
              p / median(wall["idvault-2"]));

  // Where idvault's process spends it: the same steps in-process, one job.
  std::map<std::string, std::vector<double>> phase;
  for (int round = 0; round < rounds; ++round) {
    auto start = Clock::now();
    const rp::ServiceToken token = rp::ServiceToken::open(
        tst::softhsm_module_path(), key.uri, SecretBytes::from_string(tst::kDefaultPin));
    const vault::TokenServiceKey service_key = token.service_key(key.uri);
    phase["open"].push_back(ms_since(start));
    rp::ShareReader reader;
    rp::ShareIntake intake(service_key);
    rp::IntakeOptions options;
    options.now = 1;
    const std::optional<fs::path> files_dir = dir / "files";
    for (int i = 0; i < decrypts; ++i) {
      start = Clock::now();
      const std::string text = rp::read_text_file(input);
      const rp::ReceivedShare& share = reader.read(text, files_dir);
      phase["read"].push_back(ms_since(start));
      start = Clock::now();
      options.file_digests = false;
      (void)intake.accept(share, options);
      intake.wipe();
      phase["decrypt"].push_back(ms_since(start));
      start = Clock::now();
      options.file_digests = true;
      const std::string line = intake.accept(share, options).dump();
      intake.wipe();
      phase["decrypt+report"].push_back(ms_since(start));
    }
  }
  std::printf(
      "phase\topen\t%.3f ms per process (module load, token lookup, login, key handle)\n"
      "phase\tread\t%.3f ms per decrypt (input text, parse, every file from disk)\n"
      "phase\tdecrypt\t%.3f ms per decrypt (RSA on SoftHSM, every value decrypted and checked)\n"
      "phase\treport\t%.3f ms per decrypt (decrypt + the JSON line with each plaintext's "
      "SHA-256)\n",
      median(phase["open"]), median(phase["read"]), median(phase["decrypt"]),
      median(phase["decrypt+report"]));
  return 0;
}

int bench_serve(int clients, int posts) {
  const tst::TempDir dir("idvault-bench-serve");
  tst::SoftHsmEnvironment env;
  env.add_token("service");
  const rp::ServiceToken token = [&] {
    auto module = p11::Module::load(tst::softhsm_module_path());
    auto tok = p11::resolve_token(module, p11::Uri::parse("pkcs11:token=service"));
    auto login = p11::Login::open(tok, SecretBytes::from_string(tst::kDefaultPin));
    (void)p11::generate_rsa_key_pair(tok, 2048, {"rp", {0x01}});
    (void)p11::generate_aes256_key(tok, {rp::kDefaultSealKeyLabel, {0x02}});
    return rp::ServiceToken::open(tst::softhsm_module_path(), "pkcs11:token=service",
                                  SecretBytes::from_string(tst::kDefaultPin));
  }();
  const std::string key_uri = "pkcs11:token=service;object=rp";
  const vault::TokenServiceKey key = token.service_key(key_uri);
  const rp::TokenErrorSigningKey signer(token, key_uri);
  const vault::TokenMasterKey seal_key = token.seal_key();
  const rp::ResultSealer sealer(seal_key);
  rp::SqliteRequestStore store(dir / "rp.db");
  std::unique_ptr<rp::RelyingPartyService> service;
  rp::ServiceConfig config;
  http::ServerOptions server_options;
  server_options.handler_threads = rp::handler_threads_for(config);  // as serve runs it
  http::Server server(
      "127.0.0.1:0", [&](const http::Request& request) { return service->handle(request); },
      server_options);
  config.public_url = "http://127.0.0.1:" + std::to_string(server.port());
  service = std::make_unique<rp::RelyingPartyService>(key, signer, sealer, store, config);
  std::thread server_thread([&] { server.run(); });

  tst::TestHolder holder(dir.path());
  vault::PlainElement personal;
  personal.type = vault::ElementType::personal_details;
  personal.data = {{"first_name", "Ada"},        {"last_name", "Lovelace"},
                   {"birth_date", "10.12.1815"}, {"gender", "female"},
                   {"country_code", "GB"},       {"residence_country_code", "GB"}};
  holder.put(personal);
  vault::PlainElement passport;
  passport.type = vault::ElementType::passport;
  passport.data = {{"document_no", "925076473"}, {"expiry_date", "01.01.2034"}};
  passport.front_side = SecretBytes::from_string(tst::scan_bytes("front", 60'000));
  passport.selfie = SecretBytes::from_string(tst::scan_bytes("selfie", 40'000));
  holder.put(passport);
  vault::PlainElement email;
  email.type = vault::ElementType::email;
  email.value = "ada@example.org";
  holder.put(email);

  std::vector<std::string> bundles;
  for (int i = 0; i < clients * posts; ++i) {
    bundles.push_back(holder.share(service->new_request().link));
  }
  std::cout << "info\tserve\t" << clients << " clients x " << posts << " posts, bundles of "
            << bundles[0].size()
            << " bytes (3 elements, 100 kB of scans), SQLite WAL with synchronous=FULL"
            << std::endl;
  std::vector<std::vector<double>> latency(static_cast<std::size_t>(clients));
  std::atomic<int> failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int p = 0; p < posts; ++p) {
        const auto begin = Clock::now();
        const auto answer = tst::http(server.port(), "POST", "/callback",
                                      bundles[static_cast<std::size_t>(c * posts + p)]);
        latency[static_cast<std::size_t>(c)].push_back(ms_since(begin));
        if (answer.status != 200) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double wall = ms_since(start);
  server.stop();
  server_thread.join();
  std::vector<double> all;
  for (const auto& list : latency) all.insert(all.end(), list.begin(), list.end());
  std::printf(
      "result\tserve\t%.0f posts/s\tp50 %.1f ms\tp90 %.1f ms\tp99 %.1f ms\tmax %.1f ms\tfailed %d "
      "of %zu\n",
      static_cast<double>(all.size()) / wall * 1000, percentile(all, 50), percentile(all, 90),
      percentile(all, 99), percentile(all, 100), failures.load(), all.size());
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: bench_rp decrypt BUNDLE_DIR [--rounds R] [--bundles N] [--warmup W] [--ptb "
      "bench_ptb.py]\n"
      "       bench_rp files-dir BUNDLE_DIR --rp IDVAULT_RP --ptb bench_ptb_files.py [--rounds R] "
      "[--decrypts N]\n"
      "       bench_rp serve [--clients C] [--posts P]\n";
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string mode = argv[1];
  std::map<std::string, std::string> flags;
  const bool takes_dir = mode == "decrypt" || mode == "files-dir";
  int first_flag = takes_dir ? 3 : 2;
  if (takes_dir && argc < 3) {
    std::cerr << usage;
    return 2;
  }
  for (int i = first_flag; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  const auto number = [&](const char* flag, int fallback) {
    return flags.count(flag) ? std::stoi(flags[flag]) : fallback;
  };
  try {
    if (mode == "decrypt") {
      return bench_decrypt(argv[2], number("--rounds", 5), number("--bundles", 40),
                           number("--warmup", 3),
                           flags.count("--ptb") ? flags["--ptb"] : std::string());
    }
    if (mode == "files-dir") {
      if (!flags.count("--rp") || !flags.count("--ptb")) {
        std::cerr << usage;
        return 2;
      }
      return bench_files_dir(argv[2], number("--rounds", 5), number("--decrypts", 100),
                             flags["--rp"], flags["--ptb"]);
    }
    if (mode == "serve") return bench_serve(number("--clients", 50), number("--posts", 10));
    std::cerr << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bench_rp: " << e.what() << "\n";
    return 1;
  }
}
