// bench_cloud [--rounds R] [--scans N] [--scan-mib M] [--changes C] [--devices D]
//             [--duration S] [--only transfer|propagation|load] [--no-postgres]
//
// idvault-cloud through its real binary (IDVAULT_CLOUD_BIN, started on port 0 on loopback),
// driven by the holder's own code (CloudClient, ElementSync, HolderVault) with software
// keys: a SoftwareMasterKey as the vault key VK, SoftwareSigningKeys as the devices'
// identity keys. Each measure prints its figure against what it is compared with in the
// same run (ratios, not absolute times, are what to trust on a shared machine):
//   transfer     N scans of M MiB (default 8 x 2 MiB) from one device to the other
//                through the server. Device A puts a bank_statement with them (under VK,
//                two file threads, not timed) and then ElementSync::push (timed: "up":
//                reading the ciphertexts from A's store, uploading each file, the sealed
//                item); device B's ElementSync::pull (timed: "down": the changes, the
//                item, each file downloaded and checked, stored in B's vault, synced).
//                Floor: the same ciphertext bytes through a loopback TCP socket into a
//                file on the same disk, fdatasync'ed, in the same rounds. Goal >= 0.7.
//   propagation  C small changes (a sealed item put by A) to B waiting in the push
//                channel (a long poll on changes): from A's put to B's poll answering,
//                p50/p99, beside the put's own round trip.
//   load         D devices (D/2 accounts of 2 devices, each account from its own loopback
//                address, as the server caps connections per address) for S seconds,
//                one thread each, closed loop: 30% item puts on the revision last seen,
//                40% gets of the other device's item, 30% long polls on changes (wait
//                1 s, woken by the other device's puts). SQLite, then PostgreSQL (a
//                private server, tests/support/postgres_server.h) unless --no-postgres
//                or its binaries are missing. Requests/s, p50/p99 of the short requests,
//                the long polls apart, failures (any error, a 409 included: each device
//                writes only its own item).
// It makes everything in a temporary directory and removes it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host/agent/cloud_link.h"
#include "host/agent/element_sync.h"
#include "host/cloud/client/cloud_client.h"
#include "tests/host/cloud/cloud_test_process.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"
#include "vault/account/account_log.h"
#include "vault/account/request_signature.h"
#include "vault/keys/software_keys.h"
#include "vault/store/holder_vault.h"
#include "vault/store/vault_store.h"
#include "vault/sync/cloud_item.h"

namespace fs = std::filesystem;
using namespace idvault;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using cloud::CloudClient;
using idvault::testing::CloudDevice;
using idvault::testing::CloudProcess;
using idvault::testing::rsa_public;
using idvault::testing::TempDir;
using idvault::testing::unix_now;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  return values[index];
}
double median(std::vector<double> values) {
  return percentile(std::move(values), 0.5);
}

// CPU time (user + system, every thread) of this process, and of its children still
// running (the server), in ms.
double own_cpu_ms() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return (static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3) +
         (static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3);
}
double children_cpu_ms() {
  std::ifstream children("/proc/self/task/" + std::to_string(::getpid()) + "/children");
  double ticks = 0;
  long pid = 0;
  while (children >> pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(stat)),
                           std::istreambuf_iterator<char>());
    if (text.empty()) continue;
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // past "pid (comm) "
    std::string field;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i >= 14) ticks += std::stod(field);  // utime, stime
    }
  }
  return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void print_load() {
  double load[3] = {0, 0, 0};
  (void)::getloadavg(load, 3);
  std::printf("load average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
}

SecretBytes random_scan(std::size_t size) {
  SecretBytes bytes(size);
  if (RAND_bytes(bytes.reveal_mutable().data(), static_cast<int>(size)) != 1)
    throw std::runtime_error("RAND_bytes");
  return bytes;
}

// An account of two devices, desk (its genesis) and laptop (added by desk), on a server;
// each device's client signs as it. local_address: where both connect from.
struct TwoDevices {
  TwoDevices(const std::string& url, const std::string& local_address = "")
      : desk_client(url, {"", 60s}), laptop_client(url, {"", 60s}) {
    desk_client.connect_from(local_address);
    laptop_client.connect_from(local_address);
    desk.slot_key = rsa_public("desk-slot");
    laptop.slot_key = rsa_public("laptop-slot");
    const std::string genesis = vault::AccountLog::genesis(
        {desk.id, desk.slot_key, rsa_public("recovery")}, desk.key, unix_now());
    account = vault::AccountLog::entry_hash(genesis);
    vault::AccountState state =
        vault::AccountLog::verify(std::vector<std::string>{genesis}, account, nullptr);
    as_desk = std::make_unique<vault::RequestSigner>(desk.key, account, desk.id);
    as_laptop = std::make_unique<vault::RequestSigner>(laptop.key, account, laptop.id);
    desk_client.sign_as(as_desk.get());
    laptop_client.sign_as(as_laptop.get());
    if (desk_client.create_account(genesis) != account)
      throw std::runtime_error("the server named the account otherwise");
    const std::string entry = vault::AccountLog::append(
        state, vault::DeviceAdd{laptop.id, laptop.key.public_key_spki_der(), laptop.slot_key},
        desk.key, unix_now());
    if (!desk_client.append_log(account, entry).appended)
      throw std::runtime_error("the laptop was not added");
  }
  CloudDevice desk{"desk"};
  CloudDevice laptop{"laptop"};
  std::string account;
  std::unique_ptr<vault::RequestSigner> as_desk;
  std::unique_ptr<vault::RequestSigner> as_laptop;
  CloudClient desk_client;
  CloudClient laptop_client;
};

// The floor: bytes through a loopback TCP connection into a file, fdatasync'ed. Returns
// the milliseconds from connecting to the receiver's sync.
double loopback_floor(const std::vector<vault::ByteView>& pieces, const fs::path& file) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("floor: cannot listen on loopback");
  std::size_t total = 0;
  for (const auto& piece : pieces) total += piece.size();
  const auto start = Clock::now();
  std::thread receiver([&] {
    const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    const int out = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<std::uint8_t> buffer(1u << 20);
    std::size_t received = 0;
    while (received < total) {
      const ssize_t got = ::read(connection, buffer.data(), buffer.size());
      if (got <= 0) break;
      std::size_t written = 0;
      while (written < static_cast<std::size_t>(got)) {
        const ssize_t put =
            ::write(out, buffer.data() + written, static_cast<std::size_t>(got) - written);
        if (put <= 0) break;
        written += static_cast<std::size_t>(put);
      }
      received += static_cast<std::size_t>(got);
    }
    ::fdatasync(out);
    ::close(out);
    ::close(connection);
  });
  const int sender = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error("floor: cannot connect");
  for (const auto& piece : pieces) {
    std::size_t sent = 0;
    while (sent < piece.size()) {
      const ssize_t put = ::write(sender, piece.data() + sent, piece.size() - sent);
      if (put <= 0) throw std::runtime_error("floor: write");
      sent += static_cast<std::size_t>(put);
    }
  }
  receiver.join();
  const double ms = ms_since(start);
  ::close(sender);
  ::close(listener);
  fs::remove(file);
  return ms;
}

std::string sha256_hex(vault::ByteView bytes) {
  unsigned char digest[32];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256");
  static const char* const digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 15]);
  }
  return hex;
}

void transfer(int rounds, int scans, int scan_mib) {
  TempDir dir("idvault-bench-cloud");
  CloudProcess server({"--data", (dir / "server").string()});
  TwoDevices devices(server.url());
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  const auto store_a = vault::VaultStore::open(dir / "a" / "vault.db", true);
  const auto store_b = vault::VaultStore::open(dir / "b" / "vault.db", true);
  const vault::SoftwareMasterKey vk = vault::SoftwareMasterKey::generate();
  agent::CloudLink link_a;
  link_a.url.server = server.url();
  link_a.url.account = devices.account;
  link_a.device_id = devices.desk.id;
  agent::CloudLink link_b = link_a;
  link_b.device_id = devices.laptop.id;
  vault::HolderVault vault_a(*store_a, vk);
  vault_a.set_file_threads(2);

  std::vector<double> up_ms, down_ms, floor_ms, files_up_ms, files_down_ms;
  double up_client_cpu = 0, up_server_cpu = 0, down_client_cpu = 0, down_server_cpu = 0;
  double mib = 0;
  for (int round = 0; round < rounds; ++round) {
    vault::PlainElement element;
    element.type = vault::ElementType::bank_statement;
    for (int i = 0; i < scans; ++i)
      element.files.push_back(random_scan(static_cast<std::size_t>(scan_mib) << 20));
    vault_a.put(std::move(element));

    double client_before = own_cpu_ms(), server_before = children_cpu_ms();
    auto start = Clock::now();
    {
      agent::ElementSync sync(devices.desk_client, link_a, *store_a, vk);
      if (sync.push().pushed != 1) throw std::runtime_error("push: nothing pushed");
    }
    up_ms.push_back(ms_since(start));
    up_client_cpu += own_cpu_ms() - client_before;
    up_server_cpu += children_cpu_ms() - server_before;

    client_before = own_cpu_ms();
    server_before = children_cpu_ms();
    start = Clock::now();
    {
      agent::ElementSync sync(devices.laptop_client, link_b, *store_b, vk);
      if (sync.pull(link_b.changes_seen).pulled != 1) throw std::runtime_error("pull: nothing");
    }
    down_ms.push_back(ms_since(start));
    down_client_cpu += own_cpu_ms() - client_before;
    down_server_cpu += children_cpu_ms() - server_before;

    const auto sent = store_a->element(vault::ElementType::bank_statement, true);
    const auto got = store_b->element(vault::ElementType::bank_statement, true);
    if (!got || got->files.size() != sent->files.size())
      throw std::runtime_error("B does not hold A's element");
    std::vector<vault::ByteView> pieces;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < sent->files.size(); ++i) {
      if (got->files[i].ciphertext != sent->files[i].ciphertext)
        throw std::runtime_error("B's file differs from A's");
      pieces.emplace_back(sent->files[i].ciphertext);
      bytes += sent->files[i].ciphertext.size();
    }
    mib = static_cast<double>(bytes) / (1 << 20);
    floor_ms.push_back(loopback_floor(pieces, dir / "floor"));

    // The transport alone: the same files read back by B's client, and as many new
    // random files of the same sizes sent by A's (new, so the server writes them).
    start = Clock::now();
    for (const auto& piece : pieces)
      (void)devices.laptop_client.file(devices.account, sha256_hex(piece));
    files_down_ms.push_back(ms_since(start));
    std::vector<vault::Bytes> fresh;
    for (const auto& piece : pieces) {
      fresh.emplace_back(piece.size());
      if (RAND_bytes(fresh.back().data(), static_cast<int>(piece.size())) != 1)
        throw std::runtime_error("RAND_bytes");
    }
    start = Clock::now();
    for (const auto& bytes : fresh) (void)devices.desk_client.put_file(devices.account, bytes);
    files_up_ms.push_back(ms_since(start));
  }
  const double up = median(up_ms), down = median(down_ms), fl = median(floor_ms);
  std::printf("transfer: %d rounds, %d x %d MiB scans (%.2f MiB of ciphertext), SQLite server; ",
              rounds, scans, scan_mib, mib);
  print_load();
  std::printf("  up   (A push: files + item)         %8.1f ms  %7.1f MiB/s\n", up, mib / up * 1000);
  std::printf("  down (B pull: changes, item, files) %8.1f ms  %7.1f MiB/s\n", down,
              mib / down * 1000);
  std::printf("  floor (loopback TCP + fdatasync)    %8.1f ms  %7.1f MiB/s\n", fl, mib / fl * 1000);
  std::printf(
      "  of which the files alone through CloudClient: up %.1f ms (%.3f of the floor's rate), "
      "down %.1f ms (%.3f)\n",
      median(files_up_ms), fl / median(files_up_ms), median(files_down_ms),
      fl / median(files_down_ms));
  std::printf(
      "  CPU per round (mean): up client %.1f ms + server %.1f ms, down client %.1f ms + server "
      "%.1f ms (on 2 idle cores the wall time could approach the larger of each pair)\n",
      up_client_cpu / rounds, up_server_cpu / rounds, down_client_cpu / rounds,
      down_server_cpu / rounds);
  std::printf("  ratio up/floor %.3f, down/floor %.3f (goal >= 0.7 each)\n", fl / up, fl / down);
  std::printf("  per round: up");
  for (double ms : up_ms) std::printf(" %.1f", ms);
  std::printf(", down");
  for (double ms : down_ms) std::printf(" %.1f", ms);
  std::printf(", floor");
  for (double ms : floor_ms) std::printf(" %.1f", ms);
  std::printf(" ms\n");
}

void propagation(int changes) {
  TempDir dir("idvault-bench-cloud");
  CloudProcess server({"--data", (dir / "server").string()});
  TwoDevices devices(server.url());
  const vault::SoftwareMasterKey vk = vault::SoftwareMasterKey::generate();
  const std::string item = "element.personal_details";
  const nlohmann::json plaintext = {{"type", "personal_details"},
                                    {"data", {{"first_name", "Ada"}}}};
  const vault::Bytes body = vault::seal_item(vk, devices.account, item, plaintext);

  std::mutex mutex;
  std::condition_variable changed;
  bool polling = false;
  std::optional<Clock::time_point> arrived;
  std::atomic<bool> stop{false};
  std::int64_t since = devices.laptop_client.changes(devices.account, 0, 0s).counter;
  std::thread listener([&] {
    while (!stop) {
      {
        const std::lock_guard lock(mutex);
        polling = true;
      }
      changed.notify_all();
      CloudClient::Changes answer;
      try {
        answer = devices.laptop_client.changes(devices.account, since, 30s);
      } catch (const cloud::CloudError&) {
        if (stop) return;
        throw;
      }
      const auto now = Clock::now();
      since = answer.counter;
      const bool ours = std::any_of(answer.changes.begin(), answer.changes.end(),
                                    [&](const auto& change) { return change.id == item; });
      const std::lock_guard lock(mutex);
      polling = false;
      if (ours) arrived = now;
      changed.notify_all();
    }
  });
  std::vector<double> latency_ms, put_ms;
  std::optional<std::string> revision;
  std::mt19937 random(7);
  for (int i = 0; i < changes; ++i) {
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return polling; });
      arrived.reset();
    }
    // Give the poll time to reach the server and wait there.
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + random() % 5));
    const auto start = Clock::now();
    const auto written = devices.desk_client.put_item(devices.account, item, body, revision);
    put_ms.push_back(ms_since(start));
    if (!written.stored) throw std::runtime_error("propagation: put refused");
    revision = written.revision;
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, 10s, [&] { return arrived.has_value(); }))
      throw std::runtime_error("propagation: the change did not arrive in 10 s");
    latency_ms.push_back(std::chrono::duration<double, std::milli>(*arrived - start).count());
  }
  stop = true;
  devices.laptop_client.cancel();
  listener.join();
  std::printf("propagation: %d changes, A's put to B's long poll answering, SQLite server; ",
              changes);
  print_load();
  std::printf("  put to poll answer  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
              percentile(latency_ms, 0.5), percentile(latency_ms, 0.99),
              percentile(latency_ms, 1.0));
  std::printf("  the put's own round trip  p50 %7.2f ms  p99 %7.2f ms\n", percentile(put_ms, 0.5),
              percentile(put_ms, 0.99));
}

struct LoadResult {
  std::atomic<long> requests{0};
  std::atomic<long> long_polls{0};
  std::atomic<long> failures{0};
  std::mutex mutex;
  std::vector<double> short_ms;  // puts and gets
  std::vector<double> poll_ms;
  std::vector<std::string> errors;  // the first few
};

void one_device(CloudClient& client, const std::string& account, const std::string& own,
                const std::string& other, const vault::Bytes& body, Clock::time_point until,
                unsigned seed, LoadResult& result) {
  std::mt19937 random(seed);
  std::optional<std::string> revision;
  std::int64_t since = 0;
  std::vector<double> short_ms, poll_ms;
  long failures = 0;
  while (Clock::now() < until) {
    const unsigned pick = random() % 10;
    const auto start = Clock::now();
    try {
      if (pick < 3) {
        const auto written = client.put_item(account, own, body, revision);
        if (!written.stored) throw std::runtime_error("409 on a device's own item");
        revision = written.revision;
        short_ms.push_back(ms_since(start));
      } else if (pick < 7) {
        (void)client.item(account, other);
        short_ms.push_back(ms_since(start));
      } else {
        since = client.changes(account, since, 1s).counter;
        poll_ms.push_back(ms_since(start));
      }
    } catch (const std::exception& error) {
      ++failures;
      const std::lock_guard lock(result.mutex);
      if (result.errors.size() < 5) result.errors.emplace_back(error.what());
    }
  }
  const std::lock_guard lock(result.mutex);
  result.requests += static_cast<long>(short_ms.size() + poll_ms.size());
  result.long_polls += static_cast<long>(poll_ms.size());
  result.failures += failures;
  result.short_ms.insert(result.short_ms.end(), short_ms.begin(), short_ms.end());
  result.poll_ms.insert(result.poll_ms.end(), poll_ms.begin(), poll_ms.end());
}

void load(const std::string& name, const std::vector<std::string>& server_args, int devices,
          int seconds) {
  CloudProcess server(server_args);
  const int accounts = std::max(1, devices / 2);
  std::vector<std::unique_ptr<TwoDevices>> all;
  const vault::SoftwareMasterKey vk = vault::SoftwareMasterKey::generate();
  // Each device writes its own item (desk the passport, laptop the address), so no put
  // is ever stale.
  const std::string desk_item = "element.passport", laptop_item = "element.address";
  std::vector<std::pair<vault::Bytes, vault::Bytes>> bodies;
  for (int i = 0; i < accounts; ++i) {
    const std::string address =
        "127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    all.push_back(std::make_unique<TwoDevices>(server.url(), address));
    TwoDevices& two = *all.back();
    const nlohmann::json plaintext = {{"data", {{"document_no", std::to_string(i)}}}};
    bodies.emplace_back(vault::seal_item(vk, two.account, desk_item, plaintext),
                        vault::seal_item(vk, two.account, laptop_item, plaintext));
  }
  LoadResult result;
  const auto start = Clock::now();
  const auto until = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < accounts; ++i) {
    TwoDevices& two = *all[static_cast<std::size_t>(i)];
    const auto& body = bodies[static_cast<std::size_t>(i)];
    threads.emplace_back([&, i] {
      one_device(two.desk_client, two.account, desk_item, laptop_item, body.first, until,
                 static_cast<unsigned>(2 * i), result);
    });
    threads.emplace_back([&, i] {
      one_device(two.laptop_client, two.account, laptop_item, desk_item, body.second, until,
                 static_cast<unsigned>(2 * i + 1), result);
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = ms_since(start) / 1000;
  const long short_requests = result.requests - result.long_polls;
  std::printf("load, %s: %d devices (%d accounts) for %.1f s; ", name.c_str(), 2 * accounts,
              accounts, elapsed);
  print_load();
  std::printf("  %.0f requests/s (%ld requests: %ld puts and gets, %ld long polls), %ld failures\n",
              static_cast<double>(result.requests) / elapsed, result.requests.load(),
              short_requests, result.long_polls.load(), result.failures.load());
  std::printf("  puts and gets: %.0f/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              static_cast<double>(short_requests) / elapsed, percentile(result.short_ms, 0.5),
              percentile(result.short_ms, 0.99), percentile(result.short_ms, 1.0));
  std::printf("  long polls (wait 1 s): p50 %.1f ms, p99 %.1f ms\n",
              percentile(result.poll_ms, 0.5), percentile(result.poll_ms, 0.99));
  for (const auto& error : result.errors) std::printf("  failure: %s\n", error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, scans = 8, scan_mib = 2, changes = 200, devices = 200, duration = 30;
  std::string only;
  bool postgres = true;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-postgres") {
      postgres = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_cloud: " << flag << " needs a value\n";
      return 2;
    }
    const std::string value = argv[++i];
    const int number = std::atoi(value.c_str());
    if (flag == "--rounds")
      rounds = std::max(1, number);
    else if (flag == "--scans")
      scans = std::max(1, number);
    else if (flag == "--scan-mib")
      scan_mib = std::max(1, number);
    else if (flag == "--changes")
      changes = std::max(1, number);
    else if (flag == "--devices")
      devices = std::max(2, number);
    else if (flag == "--duration")
      duration = std::max(1, number);
    else if (flag == "--only")
      only = value;
    else {
      std::cerr << "usage: bench_cloud [--rounds R] [--scans N] [--scan-mib M] [--changes C] "
                   "[--devices D] [--duration S] [--only transfer|propagation|load] "
                   "[--no-postgres]\n";
      return 2;
    }
  }
  try {
    if (only.empty() || only == "transfer") transfer(rounds, scans, scan_mib);
    if (only.empty() || only == "propagation") propagation(changes);
    if (only.empty() || only == "load") {
      {
        TempDir dir("idvault-bench-cloud");
        load("SQLite", {"--data", (dir / "server").string()}, devices, duration);
      }
      if (postgres && idvault::testing::PostgresServer::available()) {
        idvault::testing::PostgresServer pg;
        load("PostgreSQL", {"--db", pg.create_database("cloud")}, devices, duration);
      } else if (postgres) {
        std::printf("load, PostgreSQL: skipped (%s)\n",
                    idvault::testing::PostgresServer::missing().c_str());
      }
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "bench_cloud: " << error.what() << "\n";
    return 1;
  }
}
