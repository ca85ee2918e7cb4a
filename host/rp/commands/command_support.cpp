#include "host/rp/commands/command_support.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace idvault::rp {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > 0) {
    text.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    in.read(text.data(), size);
  }
  if (!in && !in.eof()) throw std::runtime_error("cannot read " + path.string());
  return text;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string keygen_json(const std::string& key_uri, const std::string& algorithm,
                        const std::string& public_key_pem, const std::string& public_key_sha256,
                        const std::string& seal_key_uri) {
  nlohmann::ordered_json json = {{"key_uri", key_uri},
                                 {"algorithm", algorithm},
                                 {"public_key_pem", public_key_pem},
                                 {"public_key_sha256", public_key_sha256}};
  if (!seal_key_uri.empty()) json["seal_key_uri"] = seal_key_uri;
  return json.dump(2);
}

}  // namespace idvault::rp
