#include "host/cloud/server/cloud_options.h"

#include <boost/program_options.hpp>
#include <iostream>

#include "common/cli/command_line.h"
#include "host/cloud/store/cloud_store.h"

namespace idvault::cloud {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: idvault-cloud (--data DIR | --db postgresql://...) [--listen ADDR] "
    "[--tls-cert F --tls-key F] [--quota-bytes N] [--join-ttl-seconds N]";

}  // namespace

std::optional<CloudOptions> parse_cloud_options(const std::vector<std::string>& args) {
  CloudOptions options;
  std::string data;
  std::string db;
  po::options_description described("idvault-cloud: keeps the ciphertext of cloud accounts");
  described.add_options()("help,h", "show this help")(
      "data", po::value(&data), "the data folder: SQLite database and files (made private)")(
      "db", po::value(&db), "PostgreSQL instead: postgresql://... (several servers may share it)")(
      "listen", po::value(&options.listen),
      "IPv4 address and port (default 127.0.0.1:8470; port 0 picks one)")(
      "tls-cert", po::value(&options.tls_cert), "serve HTTPS: the certificate chain PEM")(
      "tls-key", po::value(&options.tls_key), "the TLS certificate's private key PEM")(
      "quota-bytes", po::value(&options.quota_bytes),
      "bytes one account may hold (default 1 GiB; over it a write gets 507)")(
      "clock-skew-seconds", po::value(&options.skew_seconds),
      "how far a request's signed time may be from this server's clock (default 300)")(
      "join-ttl-seconds", po::value(&options.join_ttl_seconds),
      "how long a device's join request waits for approval (default 900)");
  po::variables_map vm;
  try {
    vm = cli::parse_exactly(args, described, nullptr);
    po::notify(vm);
  } catch (const po::error& e) {
    throw cli::UsageError(std::string(e.what()) + "; " + kUsage);
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << described;
    return std::nullopt;
  }
  if (data.empty() == db.empty())
    throw cli::UsageError(std::string("give one of --data DIR and --db postgresql://...; ") +
                          kUsage);
  if (!db.empty() && !names_postgres(db))
    throw cli::UsageError("--db takes a postgresql:// URI (for a folder, use --data)");
  if (!data.empty() && names_postgres(data))
    throw cli::UsageError("--data takes a folder (for PostgreSQL, use --db)");
  options.where = data.empty() ? db : data;
  if (options.tls_cert.empty() != options.tls_key.empty())
    throw cli::UsageError("--tls-cert and --tls-key go together");
  if (options.quota_bytes < 1) throw cli::UsageError("--quota-bytes must be at least 1");
  if (options.skew_seconds < 1 || options.skew_seconds > 3600)
    throw cli::UsageError("--clock-skew-seconds must be between 1 and 3600");
  if (options.join_ttl_seconds < 1 || options.join_ttl_seconds > 86400)
    throw cli::UsageError("--join-ttl-seconds must be between 1 and 86400");
  return options;
}

}  // namespace idvault::cloud
