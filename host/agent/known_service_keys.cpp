#include "host/agent/known_service_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "host/rpc/file_descriptor.h"

namespace idvault::agent {
namespace {

nlohmann::json read_map(const std::filesystem::path& path) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return nlohmann::json::object();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  const std::string text((std::istreambuf_iterator<char>(file)), {});
  nlohmann::json map = nlohmann::json::parse(text, nullptr, false);
  if (!map.is_object())
    throw std::runtime_error(path.string() + " is not a JSON object of service keys");
  return map;
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " +
                           std::generic_category().message(errno));
}

}  // namespace

std::filesystem::path known_service_keys_path(const std::filesystem::path& store_path) {
  return std::filesystem::path(store_path.string() + ".services.json");
}

std::optional<std::string> KnownServiceKeys::key_for(const std::string& service_id) const {
  const nlohmann::json map = read_map(path_);
  const auto entry = map.find(service_id);
  if (entry == map.end() || !entry->is_object()) return std::nullopt;
  const auto key = entry->find("service_key_sha256");
  if (key == entry->end() || !key->is_string()) return std::nullopt;
  return key->get<std::string>();
}

void KnownServiceKeys::remember(const std::string& service_id,
                                const std::string& service_key_sha256) const {
  nlohmann::json map = read_map(path_);
  map[service_id] = {{"service_key_sha256", service_key_sha256}};
  const std::string text = map.dump() + "\n";
  const std::filesystem::path temporary = path_.string() + ".new";
  ::unlink(temporary.c_str());  // left by a crash between write and rename
  const rpc::FileDescriptor fd(
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail("cannot create", temporary);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", temporary);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync", temporary);
  if (::rename(temporary.c_str(), path_.c_str()) != 0) fail("cannot replace", path_);
}

}  // namespace idvault::agent
