// idvault-rp serve: the callback endpoint and demo page, with the key on the HSM.
#include <unistd.h>

#include <functional>
#include <iostream>

#include "common/cli/command_line.h"
#include "host/http/listening_socket.h"
#include "host/http/metrics.h"
#include "host/http/prefork.h"
#include "host/http/server.h"
#include "host/http/stop_signals.h"
#include "host/pin/token_options.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "host/rp/service/callback_service.h"
#include "host/rp/service/request_store.h"
#include "host/rp/service/result_sealer.h"
#include "host/rp/service/token_key_group.h"
#include "vault/signed/attestation.h"

namespace idvault::rp {

namespace po = boost::program_options;

int run_serve(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp serve");
  std::string listen;
  std::string module;
  std::vector<std::string> key_uris;
  std::string seal_key_uri;
  std::string db = ":memory:";
  ServiceConfig config;
  std::int64_t max_age_minutes = 10;
  std::int64_t keep_days = 7;
  std::size_t max_body = 32 * 1024 * 1024;
  std::string tls_cert;
  std::string tls_key;
  int workers = 1;
  options.add_options()("listen", po::value(&listen)->required(),
                        "IPv4 address and port, e.g. 127.0.0.1:8080 (port 0: any)");
  pin::add_module_option(options, module);
  options.add_options()("key", po::value(&key_uris)->required(),
                        "URI of the service key; repeat to name the same (cloned) key on "
                        "several tokens of an HA group")(
      "seal-key", po::value(&seal_key_uri),
      "URI of the AES key results are stored sealed under, on the service key's token (on "
      "each token of an HA group: cloned like the service key; default: the one labelled "
      "idvault-rp-seal, made by idvault-rp keygen)");
  pin::add_pin_file_option(options);
  options.add_options()(
      "db", po::value(&db),
      "requests and results: a SQLite file (default: in memory) or postgresql://...")(
      "scope", po::value(&config.scope_text),
      "scope the demo page asks for (PassportScope JSON or comma list)")(
      "service-id", po::value(&config.service_id), "service id put in request links")(
      "public-url", po::value<std::string>(),
      "URL holders reach this server at (default http://LISTEN)")(
      "nonce-max-age-minutes", po::value(&max_age_minutes),
      "how long a request stays answerable (unanswered, it is then deleted)")(
      "keep-days", po::value(&keep_days),
      "how long a result is kept for the service's records (the page reads it once)")(
      "max-body-bytes", po::value(&max_body), "largest bundle accepted (413 above)")(
      "decryptors", po::value(&config.decryptors), "HSM calls at once (each on its own session)")(
      "queue-timeout-ms", po::value(&config.queue_timeout_ms),
      "how long an HSM call waits for its turn before the bundle gets 503 with Retry-After")(
      "trust-verifier", po::value<std::vector<std::string>>(),
      "a verification provider's public key PEM (repeatable)")(
      "tls-cert", po::value(&tls_cert), "serve HTTPS: the certificate chain PEM (with --tls-key)")(
      "tls-key", po::value(&tls_key), "the TLS certificate's private key PEM (with --tls-cert)")(
      "bundle-lease-seconds", po::value(&config.bundle_lease_seconds),
      "how long a bundle is leased to the worker decrypting it (a worker killed with it "
      "blocks its copies this long; default 30)")(
      "workers", po::value(&workers),
      "processes serving the one socket, each with its own token login (default 1)");
  auto vm = cli::parse_command_line(
      args, options,
      "usage: idvault-rp serve --listen 127.0.0.1:PORT --module SO --key URI [--key URI]... "
      "[--seal-key URI] "
      "[--db F] "
      "[--pin-file F] [--scope S] [--keep-days N] [--trust-verifier PEM]... "
      "[--tls-cert PEM --tls-key PEM] [--workers N]");
  if (!vm) return 0;
  if (config.bundle_lease_seconds < 1 || config.bundle_lease_seconds > 3600)
    throw cli::UsageError("--bundle-lease-seconds must be between 1 and 3600");
  if (max_age_minutes < 1) throw cli::UsageError("--nonce-max-age-minutes must be at least 1");
  if (keep_days < 0 || keep_days > 3650)
    throw cli::UsageError("--keep-days must be between 0 and 3650");
  if (tls_cert.empty() != tls_key.empty())
    throw cli::UsageError("--tls-cert and --tls-key go together");
  if (workers < 1 || workers > 256) throw cli::UsageError("--workers must be between 1 and 256");
  // A SQLite file is shared safely (WAL, a busy timeout, BEGIN IMMEDIATE claims); memory is not.
  if (workers > 1 && (db == ":memory:" || db.empty()))
    throw cli::UsageError(
        "--workers above 1 needs --db (a SQLite file or postgresql://...): each worker would "
        "have its own in-memory store");
  config.nonce_max_age_seconds = max_age_minutes * 60;
  config.keep_seconds = keep_days * 24 * 3600;
  if (vm->count("trust-verifier")) {
    for (const auto& path : (*vm)["trust-verifier"].as<std::vector<std::string>>()) {
      config.trusted_verifiers.push_back(vault::verifier_key_from_pem(read_text_file(path), path));
    }
  }

  http::prepare_process_for_serving();
  http::ListeningSocket socket(listen);
  const std::string base = std::string(tls_cert.empty() ? "http://" : "https://") + socket.host() +
                           ":" + std::to_string(socket.port());
  config.public_url = vm->count("public-url") ? (*vm)["public-url"].as<std::string>() : base;
  const auto announce = [&base] {
    std::cout << "idvault-rp serve: listening on " << base << std::endl;
  };

  // One process serving the socket; with --workers, one of the workers. Slot 0 purges.
  const auto serve = [&](const SecretBytes& pin, unsigned slot,
                         const std::function<void()>& ready) -> int {
    const http::StopSignals stop_signals;  // no handler runs inside a Cryptoki call

    http::MetricsRegistry metrics;
    metrics.gauge("idvault_rp_worker", "This process (1), by pid and worker slot", {"pid", "slot"})
        .with({std::to_string(::getpid()), std::to_string(slot)})
        .set(1);
    KeyGroupOptions key_options;
    key_options.metrics = &metrics;
    key_options.seal_key_uri = seal_key_uri;
    key_options.log = [](const std::string& message) {
      std::cerr << "idvault-rp serve: " << message << std::endl;
    };
    const TokenKeyGroup key(module, key_uris, pin.clone(), key_options);
    const ResultSealer sealer(key);
    const std::unique_ptr<RequestStore> opened_store = open_request_store(db);
    RequestStore& store = *opened_store;

    http::ServerOptions server_options;
    server_options.max_body_bytes = max_body;
    server_options.rate_limited_paths = {"/request"};  // each one stores a row
    server_options.tls_cert = tls_cert;
    server_options.tls_key = tls_key;
    server_options.metrics = &metrics;
    server_options.metric_routes = service_routes();
    server_options.handler_threads = handler_threads_for(config);
    std::unique_ptr<RelyingPartyService> endpoints;
    http::Server server(
        std::move(socket), [&](const http::Request& request) { return endpoints->handle(request); },
        server_options);
    config.metrics = &metrics;
    config.healthy = [&key] { return key.answers(); };
    endpoints = std::make_unique<RelyingPartyService>(key, key, sealer, store, config);
    const bool purges = slot == 0;
    if (purges) endpoints->purge_expired();

    http::StopSignals::Chores chores;
    chores.ready = ready;
    // Between signals, purge once a minute, so an idle server keeps nothing past its time.
    if (purges) {
      chores.every_minute = [&] {
        try {
          endpoints->purge_expired();
        } catch (const std::exception& e) {
          std::cerr << "idvault-rp serve: purge failed: " << e.what() << "\n";
        }
      };
    }
    stop_signals.serve(server, chores);
    return 0;
  };

  if (workers == 1) {
    serve(pin::read_token_pin(*vm), 0, announce);
    std::cerr << "idvault-rp serve: stopped\n";
    return 0;
  }
  // Read once, before any worker exists: the parent never loads the PKCS#11 module.
  const SecretBytes pin = pin::read_token_pin(*vm);
  http::PreforkOptions prefork;
  prefork.workers = static_cast<unsigned>(workers);
  prefork.log_name = "idvault-rp serve";
  const int status = http::run_prefork(
      prefork, [&](const http::WorkerSlot& slot) { return serve(pin, slot.index, slot.ready); },
      announce);
  std::cerr << "idvault-rp serve: stopped\n";
  return status;
}

}  // namespace idvault::rp
