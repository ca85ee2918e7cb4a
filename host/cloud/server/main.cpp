// idvault-cloud: the server that keeps the ciphertext, key slots and signed account log
// of cloud accounts for all of their devices (design.md, "The cloud"; routes in
// cloud_routes.h). It never sees a key or a plaintext byte and cannot add a device.

#include <ctime>
#include <iostream>

#include "common/cli/cli_error.h"
#include "common/process_hardening.h"
#include "host/cloud/server/cloud_options.h"
#include "host/cloud/server/cloud_routes.h"
#include "host/cloud/store/cloud_store.h"
#include "host/http/listening_socket.h"
#include "host/http/metrics.h"
#include "host/http/server.h"
#include "host/http/stop_signals.h"

namespace {

int serve(const idvault::cloud::CloudOptions& options) {
  using namespace idvault;
  const http::StopSignals stop_signals;  // SIGTERM and SIGINT stop cleanly

  cloud::CloudLimits limits;
  limits.account_bytes = options.quota_bytes;
  const std::unique_ptr<cloud::CloudStore> store = cloud::open_cloud_store(options.where, limits);

  http::prepare_process_for_serving();
  http::ListeningSocket socket(options.listen);
  const std::string url = std::string(options.tls_cert.empty() ? "http://" : "https://") +
                          socket.host() + ":" + std::to_string(socket.port());

  http::MetricsRegistry metrics;
  cloud::CloudServiceOptions service_options;
  service_options.clock.now = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  service_options.clock.skew_seconds = options.skew_seconds;
  service_options.metrics = &metrics;
  service_options.join.ttl = std::chrono::seconds(options.join_ttl_seconds);
  cloud::CloudService service(*store, service_options);

  http::ServerOptions server_options;
  // Files up to 64 MiB; the routes hold everything else to 1 MiB.
  server_options.max_body_bytes = cloud::kMaxFileBytes;
  server_options.body_memory_bytes = 4 * cloud::kMaxFileBytes;
  // Each long poll holds a handler thread while it waits.
  server_options.handler_threads = static_cast<unsigned>(server_options.max_connections);
  // Anyone may create an account (signed by its own genesis key): a few per client.
  server_options.rate_limited_paths = {"/v1/accounts"};
  server_options.tls_cert = options.tls_cert;
  server_options.tls_key = options.tls_key;
  server_options.metrics = &metrics;
  server_options.metric_routes = cloud::CloudService::fixed_routes();
  server_options.plan_body = [&](const http::Request& head, std::uint64_t length) {
    return service.plan_body(head, length);
  };
  http::Server server(
      std::move(socket), [&](const http::Request& request) { return service.handle(request); },
      server_options);

  http::StopSignals::Chores chores;
  chores.ready = [&] { std::cout << "idvault-cloud: listening on " << url << std::endl; };
  chores.every_minute = [&] {
    try {
      (void)store->purge_nonces(static_cast<std::int64_t>(std::time(nullptr)));
      (void)service.purge_expired();
    } catch (const std::exception& e) {
      std::cerr << "idvault-cloud: purging nonces and join requests failed: " << e.what() << "\n";
    }
  };
  // Long polls answer now, so stopping does not wait for them.
  chores.before_stop = [&] { service.shutdown(); };
  stop_signals.serve(server, chores);
  std::cerr << "idvault-cloud: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace idvault;
  harden_process();
  try {
    const auto options =
        cloud::parse_cloud_options(std::vector<std::string>(argv + 1, argv + argc));
    if (!options) return cli::kExitOk;
    return serve(*options);
  } catch (const cli::CliError& e) {
    std::cerr << "idvault-cloud: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "idvault-cloud: " << e.what() << "\n";
    return cli::kExitFailed;
  }
}
