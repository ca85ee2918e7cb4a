// idvault-agent: holds the token and serves wallet apps over a local socket, the way
// ssh-agent and gpg-agent do.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "common/process_hardening.h"
#include "host/agent/agent_methods.h"
#include "host/agent/audit_log.h"
#include "host/agent/holder_agent.h"
#include "host/agent/token_watcher.h"
#include "host/agent/usb_hotplug.h"
#include "host/rpc/agent_socket.h"
#include "host/rpc/open_file_limit.h"
#include "host/rpc/rpc_server.h"
#include "pkcs11/error.h"
#include "pkcs11/module.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace idvault;

namespace {

std::atomic<rpc::RpcServer*> g_server{nullptr};

void on_signal(int) {
  // Only what is async-signal-safe: the handler may interrupt a thread that holds the
  // server's mutex, and stop() taking it there hung the agent on SIGTERM (seen once in
  // the TSan tree's load test).
  const int saved_errno = errno;  // the interrupted code may be about to read it
  if (auto* server = g_server.load()) server->stop_from_signal();
  errno = saved_errno;
}

fs::path default_store() {
  if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data)
    return fs::path(data) / "idvault" / "vault.db";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".local" / "share" / "idvault" / "vault.db";
  }
  throw std::runtime_error("cannot find a place for the vault: set --store, XDG_DATA_HOME or HOME");
}

}  // namespace

int main(int argc, char** argv) {
  // A put's megabytes of scans and ciphertexts are allocated and freed on every call.
  // Above glibc's default threshold each block was a fresh mmap: the kernel faulted in
  // and zeroed every page, then unmapped it again, which cost a put of 16 MiB more CPU
  // than anything but the cipher. Blocks up to the frame limit now come from the heap
  // and are reused (wiped on free, host/memory), and the heap is not handed back.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 128 << 20);
  po::options_description options("idvault-agent options");
  std::string socket_path, store_path, module, token_uri, config_file, confirm_program;
  long idle_timeout = 0;
  long token_poll_ms = 1000;
  long file_threads = 2;
  std::string log_level;
  options.add_options()("help,h", "show this help")(
      "socket", po::value(&socket_path),
      "socket path (default $XDG_RUNTIME_DIR/idvault/agent.sock)")(
      "store", po::value(&store_path), "vault store (default $XDG_DATA_HOME/idvault/vault.db)")(
      "module", po::value(&module), "PKCS#11 module (.so) that drives the token")(
      "token", po::value(&token_uri)->default_value("pkcs11:"), "RFC 7512 URI of the token")(
      "config", po::value(&config_file), "file with the same options, one 'name = value' a line")(
      "confirm-program", po::value(&confirm_program),
      "program asked before every share (gets a summary as argument, JSON on stdin; exit 0 = yes)")(
      "idle-timeout", po::value(&idle_timeout)->default_value(0),
      "lock after this many idle seconds (0: never)")(
      "token-poll-ms", po::value(&token_poll_ms)->default_value(1000),
      "look for a removed or returned token this often; a USB hot-plug event also makes the agent "
      "look at once")("log-level", po::value(&log_level)->default_value("info"),
                      "error, warning, info (adds the audit stream: who asked for what) or debug "
                      "(adds each Cryptoki call)")(
      "file-threads", po::value(&file_threads)->default_value(2),
      "files of one put encrypted at the same time (each written to disk as soon as it is ready)")(
      "asymmetric", "use the card key hierarchy even if the token can do AES (at init)")(
      "init-without-vault-key",
      "make a new vault as before the vault key came at init (for testing upgrades: 'cloud "
      "init' then re-wraps its secrets)")(
      "no-background-sync",
      "sync with the cloud account only on 'idvault sync' (default: follow it while unlocked)")(
      "foreground", "stay in the foreground (the default; kept for ssh-agent habits)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("config")) {
      std::ifstream file(vm["config"].as<std::string>());
      if (!file)
        throw std::runtime_error("cannot read config file " + vm["config"].as<std::string>());
      po::store(po::parse_config_file(file, options), vm);
    }
    po::notify(vm);
  } catch (const std::exception& error) {
    std::cerr << "idvault-agent: " << error.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: idvault-agent [--socket P] [--store P] [--module SO] [--token URI] "
                 "[--config F] [--foreground]\n"
              << options;
    return 0;
  }

  try {
    // The store holds phone and e-mail in clear (as Telegram does) and the receipt log
    // says whom the holder shared with: private whatever umask the agent started with.
    harden_process();
    rpc::raise_open_file_limit();  // the connection cap (1,024) is the usual soft limit
    agent::set_log_level(agent::parse_log_level(log_level));
    if (agent::log_enabled(agent::LogLevel::debug)) agent::log_cryptoki_calls();
    agent::AgentConfig config;
    config.store_path = store_path.empty() ? default_store() : fs::path(store_path);
    config.module_path = module;
    config.token_uri = token_uri;
    config.confirm_program = confirm_program;
    config.idle_timeout = std::chrono::seconds(idle_timeout);
    config.force_asymmetric = vm.count("asymmetric") > 0;
    config.init_without_vault_key = vm.count("init-without-vault-key") > 0;
    config.background_sync = vm.count("no-background-sync") == 0;
    if (idle_timeout < 0) throw std::runtime_error("--idle-timeout must not be negative");
    if (token_poll_ms <= 0) throw std::runtime_error("--token-poll-ms must be positive");
    if (file_threads < 1 || file_threads > 64)
      throw std::runtime_error("--file-threads must be 1..64");
    config.file_threads = static_cast<unsigned>(file_threads);

    // A module that cannot be loaded is a mistake in the configuration, not a token that
    // is merely absent (that one the agent waits for): say so now, before the socket is
    // made, rather than at the first token call. The module is let go again, so the
    // watcher keeps loading it afresh as it always has.
    if (!module.empty()) {
      try {
        (void)p11::Module::load(module);
      } catch (const p11::ModuleLoadError& error) {
        std::cerr << "idvault-agent: " << error.what() << " (check --module)\n";
        return 2;
      }
    }

    int listen_fd = -1;
    fs::path path;
    if (auto passed = rpc::socket_from_systemd()) {
      listen_fd = *passed;
    } else {
      path = socket_path.empty() ? rpc::default_socket_path() : fs::path(socket_path);
      listen_fd = rpc::listen_on_path(path);
    }

    agent::HolderAgent holder(config);
    rpc::MethodTable methods;
    agent::register_agent_methods(methods, holder);
    rpc::RpcServerOptions server_options;
    server_options.allowed_uid = ::geteuid();
    rpc::RpcServer server(listen_fd, methods, server_options);
    holder.set_event_sink([&server](const std::string& event, const nlohmann::json& params) {
      server.publish(event, params);
    });
    g_server = &server;
    struct sigaction action {};
    action.sa_handler = on_signal;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    agent::TokenWatchTiming timing;
    timing.poll_interval = std::chrono::milliseconds(token_poll_ms);
    agent::TokenWatcher watcher([&holder] { holder.watch(); }, timing);
    auto hotplug = agent::make_usb_hotplug_source();
    if (hotplug->start([&watcher](agent::UsbChange) { watcher.nudge(); })) {
      agent::log(agent::LogLevel::info,
                 "token presence: polled, and checked at once on " + hotplug->description());
    } else {
      agent::log(agent::LogLevel::info,
                 "token presence: polled only (" + hotplug->description() + ")");
    }
    if (!path.empty()) {
      // What a shell would eval, like ssh-agent -s; to stdout so scripts can capture it.
      std::cout << "IDVAULT_SOCK=" << path.string() << "; export IDVAULT_SOCK;" << std::endl;
    }
    server.run();
    holder.stop_background_sync();  // its events go to the server, which is about to go
    hotplug->stop();                // before the watcher it nudges
    watcher.stop();
    g_server = nullptr;
    (void)holder.lock(agent::LockReason::stopping);
    if (!path.empty()) ::unlink(path.c_str());
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "idvault-agent: " << error.what() << "\n";
    return 1;
  }
}
