// bench_bundle BUNDLE_DIR [--rounds R] [--bundles N] [--warmup W] [--ptb BENCH_PTB_PY]
//
// Whole-bundle decryption on one core, three ways on the same bytes, interleaved by round
// so host noise hits them alike (reference/bench/README.md: trust ratios from one run):
//   ours   parse the Bot API JSON + PassportDecryptor::decrypt with a SoftwareServiceKey,
//          one decryptor reused across bundles (its arena and OpenSSL contexts reused)
//   floor  the physical minimum, in this process: one RSA-OAEP decrypt (reused
//          EVP_PKEY_CTX) + SHA-256 over every ciphertext byte + AES-256-CBC decrypt of
//          the same bytes (reused contexts and buffers)
//   ptb    python-telegram-bot 13.15 on the same bundle (bench_ptb.py via /usr/bin/python3),
//          one process per round
// The bundle comes from bench_gen_bundle.py; bench_bundle.sh does both steps.
// Prints medians of per-bundle times, bundles/s, and the ratios ours/floor and ours/ptb.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "vault/keys/software_keys.h"
#include "vault/wire/passport_decryptor.h"

namespace fs = std::filesystem;
using namespace idvault;
using namespace idvault::vault;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return text.str();
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[32];
  unsigned size = 0;
  openssl::check(EVP_Digest(bytes.data(), bytes.size(), digest, &size, openssl::sha256(), nullptr),
                 "EVP_Digest");
  char hex[65];
  for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 64);
}

struct Bundle {
  std::string passport_data_text;
  std::map<std::string, std::vector<std::uint8_t>> files;
  nlohmann::json manifest;
  SecretBytes key_pem;
};

Bundle load(const fs::path& dir) {
  Bundle b;
  b.passport_data_text = read_text(dir / "passport_data.json");
  for (const auto& entry : fs::directory_iterator(dir / "files")) {
    const std::string bytes = read_text(entry.path());
    b.files.emplace(entry.path().filename().string(),
                    std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
  }
  b.manifest = nlohmann::json::parse(read_text(dir / "manifest.json"));
  b.key_pem = SecretBytes::from_string(read_text(dir / "key.pem"));
  return b;
}

// ---- ours ------------------------------------------------------------------------------

class Ours {
 public:
  explicit Ours(const Bundle& bundle)
      : bundle_(bundle),
        key_(SoftwareServiceKey::from_pem(bundle.key_pem)),
        decryptor_(key_),
        lookup_([this](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
          const auto it = bundle_.files.find(std::string(id));
          if (it == bundle_.files.end()) return std::nullopt;
          return std::span<const std::uint8_t>(it->second);
        }),
        options_{bundle.manifest["nonce"].get<std::string>(), false} {}

  void verify() {
    const PassportData pd = parse_passport_data(bundle_.passport_data_text);
    const DecryptedPassport result = decryptor_.decrypt(pd, lookup_, options_);
    const auto& want = bundle_.manifest["plain_sha256"];
    std::size_t checked = 0;
    const auto check = [&](const std::string& name, std::span<const std::uint8_t> bytes) {
      if (want.at(name) != sha256_hex(bytes))
        throw std::runtime_error("ours: wrong plaintext for " + name);
      ++checked;
    };
    for (const auto& el : result.elements) {
      const std::string type(to_string(el.type));
      if (!el.data.is_null()) {
        check(type + ".data", std::span(reinterpret_cast<const std::uint8_t*>(el.data_text.data()),
                                        el.data_text.size()));
      }
      if (el.front_side) check(type + ".front_side", *el.front_side->plaintext);
      if (el.reverse_side) check(type + ".reverse_side", *el.reverse_side->plaintext);
      if (el.selfie) check(type + ".selfie", *el.selfie->plaintext);
      for (std::size_t i = 0; i < el.files.size(); ++i)
        check(type + ".files." + std::to_string(i), *el.files[i].plaintext);
    }
    if (checked + 1 != want.size())
      throw std::runtime_error("ours: not every plaintext was produced");
  }

  // Returns the per-bundle time; the result is destroyed outside the timed window but
  // inside the sustained loop.
  double one() {
    const auto start = Clock::now();
    const PassportData pd = parse_passport_data(bundle_.passport_data_text);
    const DecryptedPassport result = decryptor_.decrypt(pd, lookup_, options_);
    const double ms = ms_since(start);
    if (result.elements.size() != 4) throw std::runtime_error("ours: lost an element");
    return ms;
  }

 private:
  const Bundle& bundle_;
  SoftwareServiceKey key_;
  PassportDecryptor decryptor_;
  FileLookup lookup_;
  DecryptOptions options_;
};

// ---- floor -----------------------------------------------------------------------------

class Floor {
 public:
  explicit Floor(const Bundle& bundle) {
    const PassportData pd = parse_passport_data(bundle.passport_data_text);
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

    const auto bio =
        openssl::make_memory_bio(bundle.key_pem.reveal().data(), bundle.key_pem.size());
    key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key_) throw std::runtime_error("floor: cannot read key.pem");
    rsa_ = openssl::make_pkey_ctx(key_.get());
    openssl::check(EVP_PKEY_decrypt_init(rsa_.get()), "EVP_PKEY_decrypt_init");
    openssl::check(EVP_PKEY_CTX_set_rsa_padding(rsa_.get(), RSA_PKCS1_OAEP_PADDING),
                   "set_rsa_padding");
    openssl::check(EVP_PKEY_CTX_set_rsa_oaep_md(rsa_.get(), openssl::sha1()), "set_rsa_oaep_md");
    openssl::check(EVP_PKEY_CTX_set_rsa_mgf1_md(rsa_.get(), openssl::sha1()), "set_rsa_mgf1_md");
  }

  double one() {
    const auto start = Clock::now();
    unsigned char secret[512];
    std::size_t secret_size = sizeof secret;
    openssl::check(EVP_PKEY_decrypt(rsa_.get(), secret, &secret_size, rsa_ciphertext_.data(),
                                    rsa_ciphertext_.size()),
                   "EVP_PKEY_decrypt");
    unsigned char digest[32];
    unsigned digest_size = 0;
    openssl::check(EVP_DigestInit_ex2(sha_.get(), openssl::sha256(), nullptr),
                   "EVP_DigestInit_ex2");
    openssl::check(EVP_DigestUpdate(sha_.get(), ciphertext_.data(), ciphertext_.size()),
                   "EVP_DigestUpdate");
    openssl::check(EVP_DigestFinal_ex(sha_.get(), digest, &digest_size), "EVP_DigestFinal_ex");
    int written = 0;
    openssl::check(EVP_DecryptInit_ex2(aes_.get(), openssl::aes_256_cbc(), secret_key_,
                                       secret_key_ + 32, nullptr),
                   "EVP_DecryptInit_ex2");
    openssl::check(EVP_CIPHER_CTX_set_padding(aes_.get(), 0), "set_padding");
    openssl::check(EVP_DecryptUpdate(aes_.get(), plaintext_.data(), &written, ciphertext_.data(),
                                     static_cast<int>(ciphertext_.size())),
                   "EVP_DecryptUpdate");
    const double ms = ms_since(start);
    sink_ ^= digest[0] ^ plaintext_[ciphertext_.size() / 2] ^ secret[0];
    return ms;
  }

  [[nodiscard]] unsigned sink() const { return sink_; }

 private:
  std::vector<std::uint8_t> rsa_ciphertext_, ciphertext_, plaintext_;
  openssl::PKey key_;
  openssl::PKeyCtx rsa_;
  openssl::DigestCtx sha_ = openssl::make_digest_ctx();
  openssl::CipherCtx aes_ = openssl::make_cipher_ctx();
  unsigned char secret_key_[48] = {1, 2, 3};
  unsigned sink_ = 0;
};

// ---- python-telegram-bot ---------------------------------------------------------------

struct PipeCloser {
  void operator()(FILE* pipe) const noexcept { pclose(pipe); }
};

std::vector<double> run_ptb(const std::string& script, const fs::path& bundle, int runs,
                            int warmup) {
  const std::string command = "/usr/bin/python3 '" + script + "' '" + bundle.string() +
                              "' --runs " + std::to_string(runs) + " --warmup " +
                              std::to_string(warmup);
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_bundle BUNDLE_DIR [--rounds R] [--bundles N] [--warmup W] [--ptb "
                 "bench_ptb.py]\n";
    return 2;
  }
  int rounds = 5, bundles = 60, warmup = 5;
  std::string ptb;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rounds")
      rounds = std::stoi(argv[i + 1]);
    else if (flag == "--bundles")
      bundles = std::stoi(argv[i + 1]);
    else if (flag == "--warmup")
      warmup = std::stoi(argv[i + 1]);
    else if (flag == "--ptb")
      ptb = argv[i + 1];
    else {
      std::cerr << "bench_bundle: unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    const fs::path dir = argv[1];
    const Bundle bundle = load(dir);
    const double megabytes = bundle.manifest["total_cipher_bytes"].get<double>() / 1e6;
    Ours ours(bundle);
    Floor floor(bundle);
    ours.verify();
    std::cout << "info\tbundle\t" << bundle.manifest["total_cipher_bytes"] << " ciphertext bytes, "
              << bundle.files.size() << " files; ours verified against the manifest\n"
              << "info\topenssl\t" << OpenSSL_version(OPENSSL_VERSION) << "\n";

    std::vector<double> ours_ms, floor_ms, ptb_ms, ours_sustained;
    for (int round = 0; round < rounds; ++round) {
      for (int i = 0; i < warmup; ++i) (void)ours.one();
      const auto loop = Clock::now();
      for (int i = 0; i < bundles; ++i) ours_ms.push_back(ours.one());
      ours_sustained.push_back(ms_since(loop) / bundles);
      for (int i = 0; i < warmup; ++i) (void)floor.one();
      for (int i = 0; i < bundles; ++i) floor_ms.push_back(floor.one());
      if (!ptb.empty()) {
        const auto samples = run_ptb(ptb, dir, bundles, warmup);
        ptb_ms.insert(ptb_ms.end(), samples.begin(), samples.end());
      }
      std::cout << "round\t" << round + 1 << "\tours "
                << median({ours_ms.end() - bundles, ours_ms.end()}) << " ms\tfloor "
                << median({floor_ms.end() - bundles, floor_ms.end()}) << " ms";
      if (!ptb.empty())
        std::cout << "\tptb " << median({ptb_ms.end() - bundles, ptb_ms.end()}) << " ms";
      std::cout << std::endl;
    }

    const auto report = [&](const char* name, double ms) {
      std::printf("result\t%-6s\t%.3f ms/bundle\t%.0f bundles/s\t%.0f MB/s\n", name, ms, 1000 / ms,
                  megabytes / ms * 1000);
    };
    const double ours_median = median(ours_ms);
    const double floor_median = median(floor_ms);
    report("ours", ours_median);
    std::printf(
        "result\tours\tsustained %.3f ms/bundle (median of per-round loop time / bundles)\n",
        median(ours_sustained));
    report("floor", floor_median);
    std::printf("ratio\tours/floor\t%.2f  (bundles/s; goal >= 0.90)\n", floor_median / ours_median);
    if (!ptb.empty()) {
      const double ptb_median = median(ptb_ms);
      report("ptb", ptb_median);
      std::printf("ratio\tours/ptb\t%.2f  (bundles/s; goal >= 1.80)\n", ptb_median / ours_median);
    }
    std::printf("info\tsamples\t%d rounds x %d bundles (+%d warm-up each); floor sink %u\n", rounds,
                bundles, warmup, floor.sink());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_bundle: " << e.what() << "\n";
    return 1;
  }
}
