// bench_rp_workers: idvault-rp serve at scale, as whole processes, against the HSM's own
// rate measured in the same run.
//
//   bench_rp_workers --rp IDVAULT_RP [--workers 1,2] [--clients C] [--posts P]
//                    [--crowd 200] [--crowd-posts 3] [--commits N] [--seconds S]
//                    [--decryptors D] [--hsm-delay-ms 8] [--hsm-sessions 4]
//                    [--hsm-posts 20] [--fault-module PATH]
//
// A private PostgreSQL (tests/support/postgres_server.h) and a SoftHSM2 token whose keys
// `idvault-rp keygen` makes. Then:
//   raw      a C_DecryptInit + C_Decrypt loop (RSA-2048 OAEP-SHA1 of a 32-byte secret,
//            what every bundle costs the HSM) on the service key, W threads, one session
//            each, straight on the module's function list: the most bundles/s the HSM
//            could give W workers
//   workers  `idvault-rp serve --db postgresql://... --workers W`; C clients each POST P
//            distinct small bundles (personal_details + email) over TCP: bundles/s, and
//            the ratio against raw with as many threads (goal >= 0.85)
//   crowd    the same with --workers 2 (or the largest W) and 200 clients: requests/s,
//            p50/p99, failures (goal 0)
//   raw-hsm, hsm-bound   the HSM as a deployment has it: the RSA on its own hardware, so
//            the bottleneck is the HSM, not this machine's CPU. The fault-injecting module
//            (tests/pkcs11/fault_module.cpp) in front of SoftHSM2 makes every C_Decrypt
//            sleep --hsm-delay-ms more; the HSM has --hsm-sessions sessions. raw-hsm: the
//            raw loop through it, one thread per session (the HSM's rate); hsm-bound: serve
//            through it with the sessions split over its W workers, and the ratio (does
//            serve keep the HSM busy? goal >= 0.85)
//   lease, commit   PostgresRequestStore in-process on the same server, N bundles: the
//            lease taken before the HSM call, and the nonce spent with the sealed result
//            stored in one transaction after it; p50 and p99 of each (what the database
//            adds to each accepted bundle)
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "host/rp/service/postgres_request_store.h"
#include "pkcs11/login.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "tests/host/rp/http_test_client.h"
#include "tests/host/rp/process_cpu.h"
#include "tests/host/rp/service_side_fixture.h"
#include "tests/support/host_crypto.h"
#include "tests/support/postgres_server.h"
#include "tests/support/softhsm_token.h"

namespace {

namespace tst = idvault::testing;
namespace p11 = idvault::p11;
namespace rp = idvault::rp;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  return values[index];
}

const char* const kKeyUri = "pkcs11:token=service;object=rp;type=private";

// The function list of a PKCS#11 module, by dlopen: the module the token was opened with
// (already loaded and initialised), or the fault-injecting module, whose calls go to that
// same SoftHSM2 instance (IDVAULT_FAULT_TARGET names the same file), so its sessions see
// the token's login and key handles. Never closed: the bench exits soon after.
CK_FUNCTION_LIST* function_list_of(const std::string& path) {
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  auto get = library == nullptr
                 ? nullptr
                 : reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  CK_FUNCTION_LIST* list = nullptr;
  if (get == nullptr || get(&list) != CKR_OK) throw std::runtime_error("no function list: " + path);
  return list;
}

// RSA-OAEP decrypts per second on `threads` threads, each with its own session, straight
// on a module's function list.
double raw_decrypts_per_second(const std::shared_ptr<p11::Token>& token, CK_FUNCTION_LIST* raw,
                               unsigned threads, double seconds) {
  const p11::Object key = p11::find_object(token, p11::Uri::parse(kKeyUri));
  const auto public_key = p11::public_key_of(p11::find_public_key_for(key));
  const auto secret = tst::random_bytes(32);
  const auto ciphertext = tst::oaep_encrypt(*public_key, secret);
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      CK_SESSION_HANDLE session = 0;
      if (raw->C_OpenSession(token->slot(), CKF_SERIAL_SESSION, nullptr, nullptr, &session) !=
          CKR_OK) {
        failed = true;
        return;
      }
      CK_RSA_PKCS_OAEP_PARAMS params{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
      CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &params, sizeof params};
      std::vector<unsigned char> input(ciphertext.begin(), ciphertext.end());
      unsigned char out[512];
      while (Clock::now() < deadline) {
        CK_ULONG length = sizeof out;
        if (raw->C_DecryptInit(session, &mechanism, key.handle()) != CKR_OK ||
            raw->C_Decrypt(session, input.data(), input.size(), out, &length) != CKR_OK ||
            length != 32 || std::memcmp(out, secret.data(), 32) != 0) {
          failed = true;
          break;
        }
        ++done;
      }
      raw->C_CloseSession(session);
    });
  }
  for (auto& worker : workers) worker.join();
  const double wall = ms_since(start);
  if (failed) throw std::runtime_error("raw C_Decrypt loop failed");
  return static_cast<double>(done.load()) / wall * 1000;
}

// idvault-rp serve as a child process; SIGTERM and reaped on destruction.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& argv) {
    // Built before the fork: the child of a threaded process only execs.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    // "idvault-rp serve: listening on http://127.0.0.1:PORT"
    std::string line;
    char c = 0;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    stdout_ = out[0];
    const auto colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos)
      throw std::runtime_error("serve did not start: '" + line + "'");
    port_ = std::stoi(line.substr(colon + 1));
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ServeProcess(ServeProcess&&) = delete;
  ServeProcess& operator=(ServeProcess&&) = delete;
  ~ServeProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(stdout_);
  }
  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  int port_ = 0;
};

// The machine's CPU time so far (all cores, from /proc/stat): busy and idle jiffies.
struct CpuTimes {
  unsigned long long busy = 0;
  unsigned long long idle = 0;
};

CpuTimes cpu_times() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  return {user + nice + system + irq + softirq, idle + iowait};
}

// Whose CPU time is whose: serve and its workers, the private PostgreSQL (its postmaster
// is found by the data folder on its command line) and its backends, this process (the
// posting clients; nothing else of ours runs while they post).
struct Processes {
  pid_t serve = 0;
  std::string postgres_folder;
};

// CPU milliseconds per bundle by process group while the posts ran.
struct CpuSplit {
  double serve = 0;
  double postgres = 0;
  double clients = 0;
  double other = 0;  // everything else on the machine (other users of its cores)
};

CpuSplit cpu_split(const Processes& processes, const tst::ProcessSnapshot& before,
                   const tst::ProcessSnapshot& after, std::size_t bundles) {
  const auto serve = tst::process_tree(after, {processes.serve});
  const pid_t postmaster = tst::find_process(after, processes.postgres_folder + "/data");
  const auto postgres =
      postmaster == 0 ? std::vector<pid_t>{} : tst::process_tree(after, {postmaster});
  std::vector<pid_t> everyone;
  for (const auto& [pid, entry] : after.processes) everyone.push_back(pid);
  const double per = bundles == 0 ? 0 : 1.0 / static_cast<double>(bundles);
  CpuSplit split;
  split.serve = tst::cpu_ms_between(before, after, serve) * per;
  split.postgres = tst::cpu_ms_between(before, after, postgres) * per;
  split.clients = tst::cpu_ms_between(before, after, {getpid()}) * per;
  split.other = tst::cpu_ms_between(before, after, everyone) * per - split.serve - split.postgres -
                split.clients;
  return split;
}

struct PostRun {
  double per_second = 0;
  double cpu_busy = 0;  // share of the machine's CPU time in use while the posts ran
  CpuSplit cpu;
  std::vector<double> latency_ms;
  int failures = 0;
  std::map<int, int> statuses;
};

// One request over a new connection from 127.0.0.(2 + source % 200): the server limits
// what one client address may do (GET /request's burst, connections at once), and this
// tool stands for many clients.
tst::HttpAnswer http_from(int source, int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + static_cast<unsigned>(source % 200));
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect");
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot send");
    }
    sent += static_cast<std::size_t>(n);
  }
  tst::HttpAnswer answer = tst::read_answer(fd);
  ::close(fd);
  return answer;
}

std::string issue_link(int port, int n) {
  const tst::HttpAnswer answer =
      http_from(n, port, "GET /request HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (answer.status != 200) throw std::runtime_error("GET /request: " + answer.head);
  return nlohmann::json::parse(answer.body).at("link");
}

std::string post_request(const std::string& bundle) {
  return "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(bundle.size()) + "\r\nConnection: close\r\n\r\n" + bundle;
}

// Issues clients*posts requests through GET /request, answers each with a bundle from
// holder, then posts them from `clients` threads at once.
PostRun post_bundles(int port, const Processes& processes, tst::TestHolder& holder, int clients,
                     int posts) {
  const auto total = static_cast<std::size_t>(clients) * static_cast<std::size_t>(posts);
  std::vector<std::string> bundles;
  bundles.reserve(total);
  for (int i = 0; i < clients * posts; ++i) {
    bundles.push_back(post_request(holder.share(issue_link(port, i))));
  }
  std::vector<std::vector<double>> latency(static_cast<std::size_t>(clients));
  std::vector<std::map<int, int>> statuses(static_cast<std::size_t>(clients));
  const tst::ProcessSnapshot processes_before = tst::take_process_snapshot();
  const CpuTimes cpu_before = cpu_times();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int p = 0; p < posts; ++p) {
        const auto index = static_cast<std::size_t>(c) * static_cast<std::size_t>(posts) +
                           static_cast<std::size_t>(p);
        const auto begin = Clock::now();
        int status = 0;
        try {
          status = http_from(c, port, bundles[index]).status;
        } catch (const std::exception&) {
          status = -1;  // connection refused or reset
        }
        latency[static_cast<std::size_t>(c)].push_back(ms_since(begin));
        ++statuses[static_cast<std::size_t>(c)][status];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  PostRun run;
  run.per_second = clients * posts / ms_since(start) * 1000;
  const CpuTimes cpu_after = cpu_times();
  run.cpu = cpu_split(processes, processes_before, tst::take_process_snapshot(), total);
  const auto busy = static_cast<double>(cpu_after.busy - cpu_before.busy);
  const auto idle = static_cast<double>(cpu_after.idle - cpu_before.idle);
  run.cpu_busy = busy + idle > 0 ? busy / (busy + idle) : 0;
  for (int c = 0; c < clients; ++c) {
    const auto& mine = latency[static_cast<std::size_t>(c)];
    run.latency_ms.insert(run.latency_ms.end(), mine.begin(), mine.end());
    for (const auto& [status, count] : statuses[static_cast<std::size_t>(c)]) {
      run.statuses[status] += count;
      if (status != 200) run.failures += count;
    }
  }
  return run;
}

std::string statuses_text(const std::map<int, int>& statuses) {
  std::string text;
  for (const auto& [status, count] : statuses)
    text += (text.empty() ? "" : " ") + std::to_string(status) + "x" + std::to_string(count);
  return text;
}

void print_run(const char* name, unsigned workers, int clients, const PostRun& run) {
  std::printf(
      "result\t%s\t%u workers\t%d clients\t%.0f bundles/s\tp50 %.1f ms\tp99 %.1f ms\tmax %.1f "
      "ms\tfailed %d of %zu (%s)\tCPU %.0f%% busy\n",
      name, workers, clients, run.per_second, percentile(run.latency_ms, 50),
      percentile(run.latency_ms, 99), percentile(run.latency_ms, 100), run.failures,
      run.latency_ms.size(), statuses_text(run.statuses).c_str(), run.cpu_busy * 100);
  std::printf(
      "cpu\t%s\t%u workers\tms CPU per bundle: serve %.2f\tpostgres %.2f\tclients %.2f\t"
      "other %.2f\n",
      name, workers, run.cpu.serve, run.cpu.postgres, run.cpu.clients, run.cpu.other);
}

// Mean milliseconds per stage of a POST /callback from serve's GET /metrics (the worker
// that answers: with several workers, one worker's sample): wait for a decryptor, hsm (one
// HSM call), decrypt (the whole intake: HSM call, checks), commit.
std::string stage_means(int port) {
  const tst::HttpAnswer answer =
      http_from(0, port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (answer.status != 200) return "no /metrics";
  std::map<std::string, std::pair<double, double>> stages;  // stage: sum, count
  std::istringstream lines(answer.body);
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = "idvault_rp_stage_seconds_";
    const auto open = line.find("{stage=\"");
    if (line.rfind(prefix, 0) != 0 || open == std::string::npos) continue;
    const std::string kind = line.substr(prefix.size(), open - prefix.size());
    const auto close = line.find('"', open + 8);
    const auto space = line.rfind(' ');
    if (close == std::string::npos || space == std::string::npos) continue;
    const std::string stage = line.substr(open + 8, close - open - 8);
    const double value = std::stod(line.substr(space + 1));
    if (kind == "sum") stages[stage].first = value;
    if (kind == "count") stages[stage].second = value;
  }
  std::string text;
  for (const char* stage : {"wait", "hsm", "decrypt", "commit"}) {
    const auto& [sum, count] = stages[stage];
    char item[64];
    std::snprintf(item, sizeof item, "%s%s %.2f", text.empty() ? "" : "\t", stage,
                  count > 0 ? sum / count * 1000 : 0.0);
    text += item;
  }
  return text;
}

// What the database adds to one accepted bundle on PostgreSQL, timed one by one: the
// request checked and the lease taken before the HSM call (admit_bundle), then the nonce spent and
// the sealed result stored with the bundle's outcome in one transaction (claim_and_store).
struct CommitLatencies {
  std::vector<double> lease;
  std::vector<double> commit;
};

CommitLatencies commit_latencies(const std::string& db, int commits) {
  rp::PostgresRequestStore store(db);
  const std::int64_t now = 1'800'000'000;
  rp::ReceivedResult result;
  // The sizes a small bundle's sealed result has: a 60-byte wrapped key, a 2 KiB report
  // and "null" errors, each with its 12-byte IV and 16-byte tag.
  result.wrapped_key.assign(60, 0x11);
  result.report.assign(2048 + 28, 0x22);
  result.errors.assign(4 + 28, 0x33);
  result.received_at = now;
  CommitLatencies latency;
  for (int i = 0; i < commits; ++i) {
    const std::string nonce = "bench-commit-" + std::to_string(i);
    store.add_request(nonce, std::string(64, '0'), now);
    const rp::BundleKey key{tst::sha256_hex_of(nonce), tst::sha256_hex_of("body" + nonce)};
    auto begin = Clock::now();
    if (store.admit_bundle(key, nonce, now, 30).state != rp::BundleState::leased)
      throw std::runtime_error("commit bench: the lease did not take");
    latency.lease.push_back(ms_since(begin));
    begin = Clock::now();
    if (store.claim_and_store(nonce, now, 600, result, {}, &key,
                              {200, R"({"status":"accepted"})"}) != rp::ClaimOutcome::claimed)
      throw std::runtime_error("commit bench: the claim did not take");
    latency.commit.push_back(ms_since(begin));
  }
  return latency;
}

std::vector<unsigned> worker_counts(const std::string& text) {
  std::vector<unsigned> counts;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) counts.push_back(std::stoul(item));
  return counts;
}

int run(std::map<std::string, std::string> flags) {
  const auto number = [&](const char* flag, int fallback) {
    return flags.count(flag) ? std::stoi(flags[flag]) : fallback;
  };
  const std::string rp_bin = flags.at("--rp");
  const auto counts = worker_counts(flags.count("--workers") ? flags["--workers"] : "1,2");
  const int clients = number("--clients", 16);
  const int posts = number("--posts", 25);
  const int crowd = number("--crowd", 200);
  const int crowd_posts = number("--crowd-posts", 3);
  const int commits = number("--commits", 2000);
  const double seconds = number("--seconds", 3);
  const int decryptors = number("--decryptors", 4);      // per worker, serve's default
  const int hsm_delay_ms = number("--hsm-delay-ms", 8);  // 0: no hsm-bound phase
  const int hsm_sessions = number("--hsm-sessions", 4);
  const int hsm_posts = number("--hsm-posts", 20);
  const std::string fault_module =
      flags.count("--fault-module") ? flags["--fault-module"] : IDVAULT_FAULT_MODULE;

  if (!tst::PostgresServer::available()) throw std::runtime_error(tst::PostgresServer::missing());
  tst::PostgresServer postgres;
  const tst::TempDir dir("idvault-bench-workers");
  tst::SoftHsmEnvironment env;
  env.add_token("service");
  const fs::path pin_file = dir / "pin";
  tst::write_file(pin_file, std::string(tst::kDefaultPin) + "\n");
  fs::permissions(pin_file, fs::perms::owner_read | fs::perms::owner_write);
  const std::string module = tst::softhsm_module_path();
  const auto keygen =
      tst::run_process({rp_bin, "keygen", "--module", module, "--token", "pkcs11:token=service",
                        "--label", "rp", "--pin-file", pin_file.string()});
  if (keygen.status != 0) throw std::runtime_error("keygen: " + keygen.err);

  const auto token = p11::open_token("pkcs11:token=service", module);
  const auto login = p11::Login::open(token, idvault::SecretBytes::from_string(tst::kDefaultPin));

  fs::create_directories(dir / "holder");
  tst::TestHolder holder(dir / "holder");
  idvault::vault::PlainElement personal;
  personal.type = idvault::vault::ElementType::personal_details;
  personal.data = {{"first_name", "Ada"},        {"last_name", "Lovelace"},
                   {"birth_date", "10.12.1815"}, {"gender", "female"},
                   {"country_code", "GB"},       {"residence_country_code", "GB"}};
  holder.put(personal);
  idvault::vault::PlainElement email;
  email.type = idvault::vault::ElementType::email;
  email.value = "ada@example.org";
  holder.put(email);

  std::printf("info\tmachine\t%u cores; SoftHSM2 RSA-2048; PostgreSQL on a Unix socket\n",
              std::thread::hardware_concurrency());
  const auto serve_args = [&](const std::string& with_module, unsigned workers,
                              unsigned decryptors_each, const std::string& db) {
    return std::vector<std::string>{rp_bin,
                                    "serve",
                                    "--listen",
                                    "127.0.0.1:0",
                                    "--module",
                                    with_module,
                                    "--key",
                                    kKeyUri,
                                    "--pin-file",
                                    pin_file.string(),
                                    "--db",
                                    db,
                                    "--workers",
                                    std::to_string(workers),
                                    "--scope",
                                    "personal_details,email",
                                    "--nonce-max-age-minutes",
                                    "60",
                                    "--decryptors",
                                    std::to_string(decryptors_each)};
  };
  CK_FUNCTION_LIST* const softhsm = function_list_of(module);
  int failures = 0;
  for (const unsigned workers : counts) {
    const double raw = raw_decrypts_per_second(token, softhsm, workers, seconds);
    std::printf("result\traw\t%u threads\t%.0f C_Decrypt/s\n", workers, raw);
    const std::string db = postgres.create_database("bench_w" + std::to_string(workers));
    ServeProcess serve(serve_args(module, workers, static_cast<unsigned>(decryptors), db));
    const Processes processes{serve.pid(), postgres.socket_folder()};
    // warm-up: sessions, connections
    (void)post_bundles(serve.port(), processes, holder, clients, 2);
    const PostRun run = post_bundles(serve.port(), processes, holder, clients, posts);
    print_run("workers", workers, clients, run);
    std::printf(
        "ratio\tworkers/raw\t%u workers\t%.2f  (bundles/s against C_Decrypt/s on %u "
        "threads; goal >= 0.85)\n",
        workers, run.per_second / raw, workers);
    failures += run.failures;
    if (workers == counts.back()) {
      const PostRun many = post_bundles(serve.port(), processes, holder, crowd, crowd_posts);
      print_run("crowd", workers, crowd, many);
      failures += many.failures;
    }
  }

  // hsm-bound: an HSM that does the RSA on its own hardware (a network HSM), modelled by
  // the fault-injecting module in front of SoftHSM2 adding hsm_delay ms of sleep (not CPU)
  // to every C_Decrypt, with hsm_sessions sessions. The limit is the raw loop through the
  // same module, one thread per session. The sessions are the HSM's parallelism here (each
  // sleeps on its own), so serve gets as many in total: W workers with hsm_sessions / W
  // decryptors each. More sessions than the limit's would buy serve HSM capacity the limit
  // does not count; a real HSM's rate does not grow with the sessions opened on it.
  if (hsm_delay_ms > 0) {
    const fs::path control = dir / "fault-control";
    tst::write_file(control, "delay C_Decrypt " + std::to_string(hsm_delay_ms) + " -1\n");
    // Read by the fault module in this process and inherited by serve; set while no other
    // thread of ours runs.
    ::setenv("IDVAULT_FAULT_TARGET", module.c_str(), 1);    // NOLINT(concurrency-mt-unsafe)
    ::setenv("IDVAULT_FAULT_CONTROL", control.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    ::unsetenv("IDVAULT_FAULT_LOG");                        // NOLINT(concurrency-mt-unsafe)
    const double limit = raw_decrypts_per_second(token, function_list_of(fault_module),
                                                 static_cast<unsigned>(hsm_sessions), seconds);
    std::printf(
        "result\traw-hsm\t%d threads\t%.0f C_Decrypt/s\t(C_Decrypt +%d ms asleep; %d "
        "sessions at most %.0f/s)\n",
        hsm_sessions, limit, hsm_delay_ms, hsm_sessions, hsm_sessions * 1000.0 / hsm_delay_ms);
    for (const unsigned workers : counts) {
      if (hsm_sessions % static_cast<int>(workers) != 0)
        throw std::runtime_error("--hsm-sessions must be a multiple of every --workers count");
      const auto each = static_cast<unsigned>(hsm_sessions) / workers;
      const std::string db = postgres.create_database("bench_hsm_w" + std::to_string(workers));
      ServeProcess serve(serve_args(fault_module, workers, each, db));
      const Processes processes{serve.pid(), postgres.socket_folder()};
      (void)post_bundles(serve.port(), processes, holder, clients, 1);  // warm-up
      const PostRun run = post_bundles(serve.port(), processes, holder, clients, hsm_posts);
      print_run("hsm-bound", workers, clients, run);
      std::printf(
          "ratio\thsm-bound/raw-hsm\t%u workers\t%.2f  (bundles/s against C_Decrypt/s on %d "
          "sessions, C_Decrypt +%d ms; serve %u decryptors per worker; goal >= 0.85)\n",
          workers, run.per_second / limit, hsm_sessions, hsm_delay_ms, each);
      std::printf("stages\thsm-bound\t%u workers\tmean ms: %s\tsession held %.2f\n", workers,
                  stage_means(serve.port()).c_str(), hsm_sessions * 1000.0 / run.per_second);
      failures += run.failures;
    }
  }
  const auto latency = commit_latencies(postgres.create_database("bench_commit"), commits);
  std::printf("result\tlease\t%d bundles\tp50 %.2f ms\tp99 %.2f ms\tmax %.2f ms\n", commits,
              percentile(latency.lease, 50), percentile(latency.lease, 99),
              percentile(latency.lease, 100));
  std::printf("result\tcommit\t%d bundles\tp50 %.2f ms\tp99 %.2f ms\tmax %.2f ms\n", commits,
              percentile(latency.commit, 50), percentile(latency.commit, 99),
              percentile(latency.commit, 100));
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if (!flags.count("--rp") || argc % 2 == 0) {
    std::cerr << "usage: bench_rp_workers --rp IDVAULT_RP [--workers 1,2] [--clients C] "
                 "[--posts P] [--crowd 200] [--crowd-posts 3] [--commits N] [--seconds S] "
                 "[--decryptors D] [--hsm-delay-ms 8] [--hsm-sessions 4] [--hsm-posts 20] "
                 "[--fault-module PATH]\n";
    return 2;
  }
  try {
    return run(flags);
  } catch (const std::exception& e) {
    std::cerr << "bench_rp_workers: " << e.what() << "\n";
    return 1;
  }
}
