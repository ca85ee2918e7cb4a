// Which key each service id used when the holder last shared with it, kept beside the
// vault store like ssh's known_hosts (trust on first use): a link that carries a known
// service id with another public key is how a look-alike request steals a share, so
// the consent prompt is told when the key changes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace idvault::agent {

class KnownServiceKeys {
 public:
  // path: a JSON file (mode 0600) mapping service id to the hex SHA-256 of its key;
  // missing means no service is known yet.
  explicit KnownServiceKeys(std::filesystem::path path) : path_(std::move(path)) {}

  // The fingerprint last remembered for service_id. Throws std::runtime_error naming
  // the file when it exists but cannot be read as such a map.
  [[nodiscard]] std::optional<std::string> key_for(const std::string& service_id) const;
  // Remembers service_key_sha256 as service_id's key, replacing the previous one; the
  // file is replaced whole (written beside it, synced, renamed), so a crash leaves the
  // old map or the new one. Throws std::runtime_error naming the file.
  void remember(const std::string& service_id, const std::string& service_key_sha256) const;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Where the agent keeps them for a vault store: "<store>.services.json".
[[nodiscard]] std::filesystem::path known_service_keys_path(
    const std::filesystem::path& store_path);

}  // namespace idvault::agent
