// idvault-cloud's command line: where the data lives, where to listen, TLS and limits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace idvault::cloud {

struct CloudOptions {
  std::string where;  // the SQLite data folder, or a postgresql:// URI
  std::string listen = "127.0.0.1:8470";
  std::string tls_cert;
  std::string tls_key;
  std::int64_t quota_bytes = std::int64_t{1} << 30;
  std::int64_t skew_seconds = 300;
  std::int64_t join_ttl_seconds = 900;  // how long a join request waits for approval
};

// nullopt after printing --help; throws cli::UsageError with one line for a mistake.
[[nodiscard]] std::optional<CloudOptions> parse_cloud_options(const std::vector<std::string>& args);

}  // namespace idvault::cloud
