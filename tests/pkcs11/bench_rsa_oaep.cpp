// RSA-2048 OAEP(SHA-1) decrypt of a 32-byte secret, three ways, in one process:
//   ours      RsaPrivateKey::decrypt_oaep: pooled session (validated), cached key handle
//   cryptoki  C_DecryptInit + C_Decrypt straight on the module's function list, one
//             session, the same token key (what reference/bench/p11bench.c measured)
//   openssl   EVP_PKEY_decrypt with one reused EVP_PKEY_CTX on an in-memory key
// First the Google Benchmark registrations, then interleaved rounds (every mode once per
// round, so host noise hits all alike) with medians and the ratios ours/cryptoki and
// ours/openssl. Options: --rounds=N (default 7) --ops=N per mode per round (default 300)
// plus Google Benchmark's own (--benchmark_filter=none skips that part).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pkcs11/keygen.h"
#include "pkcs11/login.h"
#include "pkcs11/public_key.h"
#include "pkcs11/rsa.h"
#include "pkcs11/token_resolver.h"
#include "tests/support/host_crypto.h"
#include "tests/support/softhsm_token.h"

namespace {

using idvault::p11::Bytes;

struct Bench {
  idvault::testing::SoftHsmToken softhsm{"bench"};
  std::shared_ptr<idvault::p11::Token> token =
      idvault::p11::open_token(softhsm.uri(), idvault::testing::softhsm_module_path());
  idvault::p11::Login login = idvault::p11::Login::open(token, softhsm.pin());
  idvault::p11::KeyPair pair =
      idvault::p11::generate_rsa_key_pair(token, 2048, {"bench-rsa", {0x42}});
  idvault::p11::RsaPrivateKey ours{pair.private_key};
  Bytes secret = idvault::testing::random_bytes(32);
  Bytes token_ciphertext;

  // Raw Cryptoki: the very function list the module already initialised.
  void* library = nullptr;
  CK_FUNCTION_LIST* raw = nullptr;
  CK_SESSION_HANDLE raw_session = 0;

  idvault::openssl::PKey host_key = idvault::testing::generate_rsa_host_key(2048);
  idvault::openssl::PKeyCtx host_ctx;
  Bytes host_ciphertext;

  Bench() {
    auto public_key = idvault::p11::public_key_of(pair.public_key);
    token_ciphertext = idvault::testing::oaep_encrypt(*public_key, secret);
    host_ciphertext = idvault::testing::oaep_encrypt(*host_key, secret);

    library = dlopen(token->module().path().c_str(), RTLD_NOW | RTLD_NOLOAD);
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
    if (get == nullptr || get(&raw) != CKR_OK) throw std::runtime_error("no function list");
    if (raw->C_OpenSession(token->slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                           &raw_session) != CKR_OK) {
      throw std::runtime_error("C_OpenSession");
    }

    host_ctx.reset(EVP_PKEY_CTX_new(host_key.get(), nullptr));
    if (!host_ctx || EVP_PKEY_decrypt_init(host_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(host_ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(host_ctx.get(), EVP_sha1()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(host_ctx.get(), EVP_sha1()) != 1) {
      throw std::runtime_error("OpenSSL setup");
    }
  }
  ~Bench() {
    raw->C_CloseSession(raw_session);
    dlclose(library);
  }

  void check(bool ok) const {
    if (!ok) throw std::runtime_error("wrong plaintext");
  }

  void decrypt_ours() const { check(ours.decrypt_oaep(token_ciphertext).equals(secret)); }

  void decrypt_cryptoki() const {
    CK_RSA_PKCS_OAEP_PARAMS params{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
    CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &params, sizeof params};
    unsigned char out[256];
    CK_ULONG length = sizeof out;
    if (raw->C_DecryptInit(raw_session, &mechanism, pair.private_key.handle()) != CKR_OK ||
        raw->C_Decrypt(raw_session, const_cast<unsigned char*>(token_ciphertext.data()),
                       token_ciphertext.size(), out, &length) != CKR_OK) {
      throw std::runtime_error("raw decrypt");
    }
    check(length == 32 && std::memcmp(out, secret.data(), 32) == 0);
  }

  void decrypt_openssl() const {
    unsigned char out[256];
    size_t length = sizeof out;
    if (EVP_PKEY_decrypt(host_ctx.get(), out, &length, host_ciphertext.data(),
                         host_ciphertext.size()) != 1) {
      throw std::runtime_error("EVP_PKEY_decrypt");
    }
    check(length == 32 && std::memcmp(out, secret.data(), 32) == 0);
  }
};

Bench* g_bench = nullptr;

void BM_Ours(benchmark::State& state) {
  for (auto _ : state) g_bench->decrypt_ours();
}
void BM_RawCryptoki(benchmark::State& state) {
  for (auto _ : state) g_bench->decrypt_cryptoki();
}
void BM_OpenSsl(benchmark::State& state) {
  for (auto _ : state) g_bench->decrypt_openssl();
}
BENCHMARK(BM_Ours)->Name("rsa2048_oaep_sha1_decrypt/ours")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawCryptoki)
    ->Name("rsa2048_oaep_sha1_decrypt/raw_cryptoki")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenSsl)->Name("rsa2048_oaep_sha1_decrypt/openssl")->Unit(benchmark::kMicrosecond);

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

long option(int argc, char** argv, const char* name, long fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::atol(argv[i] + prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long rounds = option(argc, argv, "rounds", 7);
  const long ops = option(argc, argv, "ops", 300);
  Bench bench;
  g_bench = &bench;

  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  const std::vector<std::pair<std::string, std::function<void()>>> modes{
      {"ours", [&] { bench.decrypt_ours(); }},
      {"cryptoki", [&] { bench.decrypt_cryptoki(); }},
      {"openssl", [&] { bench.decrypt_openssl(); }},
  };
  // Wall time and this thread's CPU time: on a shared, loaded machine the CPU time is
  // the steadier of the two (everything, SoftHSM included, runs on this thread).
  std::map<std::string, std::vector<double>> per_op_us;
  std::map<std::string, std::vector<double>> cpu_per_op_us;
  for (long round = 0; round < rounds; ++round) {
    // Rotate the order too, so no mode always runs first after a pause.
    for (std::size_t k = 0; k < modes.size(); ++k) {
      const auto& [name, run] = modes[(k + static_cast<std::size_t>(round)) % modes.size()];
      const double cpu_start = thread_cpu_us();
      const auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < ops; ++i) run();
      const std::chrono::duration<double, std::micro> elapsed =
          std::chrono::steady_clock::now() - start;
      per_op_us[name].push_back(elapsed.count() / static_cast<double>(ops));
      cpu_per_op_us[name].push_back((thread_cpu_us() - cpu_start) / static_cast<double>(ops));
    }
  }
  std::printf(
      "\ninterleaved: %ld rounds x %ld ops per mode (RSA-2048 OAEP-SHA1 decrypt, 1 thread)\n",
      rounds, ops);
  for (const auto& [name, run] : modes) {
    const double m = median(per_op_us[name]);
    std::printf("  %-9s median wall %8.1f us/op (%7.1f ops/s)   cpu %8.1f us/op\n", name.c_str(), m,
                1e6 / m, median(cpu_per_op_us[name]));
  }
  for (const auto* clock : {"wall", "cpu"}) {
    auto& table = std::string(clock) == "wall" ? per_op_us : cpu_per_op_us;
    const double ours = median(table["ours"]);
    std::printf("  %-4s ratio ours/cryptoki %.3f   ours/openssl %.3f\n", clock,
                ours / median(table["cryptoki"]), ours / median(table["openssl"]));
  }
  return 0;
}
