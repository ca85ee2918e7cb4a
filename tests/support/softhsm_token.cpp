#include "tests/support/softhsm_token.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace idvault::testing {

std::filesystem::path softhsm_module_path() {
  return "/usr/lib/softhsm/libsofthsm2.so";
}

std::filesystem::path p11kit_proxy_path() {
  return "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so";
}

int run_quietly(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

SoftHsmEnvironment::SoftHsmEnvironment() {
  std::filesystem::create_directory(token_dir());
  std::ofstream conf(conf_path());
  conf << "directories.tokendir = " << token_dir().string() << "\n"
       << "objectstore.backend = file\n"
       << "log.level = ERROR\n"
       << "slots.removable = false\n";
  conf.close();
  if (!conf) throw std::runtime_error("cannot write " + conf_path().string());
  // Before any module loads and before tests start threads.
  setenv("SOFTHSM2_CONF", conf_path().c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
}

SoftHsmEnvironment::~SoftHsmEnvironment() = default;

void SoftHsmEnvironment::add_token(const std::string& label, const std::string& pin,
                                   const std::string& so_pin) {
  if (run_quietly({"softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                   "--so-pin", so_pin}) != 0) {
    throw std::runtime_error("softhsm2-util --init-token failed for '" + label + "'");
  }
}

void SoftHsmEnvironment::delete_token(const std::string& label) {
  if (run_quietly({"softhsm2-util", "--delete-token", "--token", label}) != 0) {
    throw std::runtime_error("softhsm2-util --delete-token failed for '" + label + "'");
  }
}

SoftHsmToken::SoftHsmToken(std::string label, std::string pin)
    : env_(std::make_unique<SoftHsmEnvironment>()), label_(std::move(label)), pin_(std::move(pin)) {
  env_->add_token(label_, pin_);
}

}  // namespace idvault::testing
