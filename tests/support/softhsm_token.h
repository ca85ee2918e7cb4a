// Throwaway SoftHSM2 tokens for tests.
//
// SoftHSM reads SOFTHSM2_CONF once, at C_Initialize, so a process has one SoftHSM
// configuration: create the SoftHsmEnvironment (or SoftHsmToken) before the first
// Module::load of SoftHSM in the process. ctest runs each gtest in its own process
// (gtest_discover_tests), so every test can have its own. Several tokens share one
// environment (one token directory) for multi-token tests.
//
//   idvault::testing::SoftHsmToken token;               // label "test", PIN "1234"
//   auto module = idvault::p11::Module::load(idvault::testing::softhsm_module_path());
//   auto tok = idvault::p11::resolve_token(module, idvault::p11::Uri::parse(token.uri()));
//   auto login = idvault::p11::Login::open(tok, token.pin());
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/secret_bytes.h"
#include "tests/support/temp_dir.h"

namespace idvault::testing {

// /usr/lib/softhsm/libsofthsm2.so (a symlink into the multiarch directory).
[[nodiscard]] std::filesystem::path softhsm_module_path();
// p11-kit's proxy module, which loads SoftHSM through /usr/share/p11-kit/modules.
[[nodiscard]] std::filesystem::path p11kit_proxy_path();

inline constexpr const char* kDefaultPin = "1234";
inline constexpr const char* kDefaultSoPin = "5678";

// Runs a program without a shell, stdout/stderr to /dev/null; returns its exit status.
int run_quietly(const std::vector<std::string>& argv);

// A temporary directory with a softhsm2.conf and a token directory; sets SOFTHSM2_CONF
// for the process. Removes everything on destruction.
class SoftHsmEnvironment {
 public:
  SoftHsmEnvironment();
  SoftHsmEnvironment(const SoftHsmEnvironment&) = delete;
  SoftHsmEnvironment& operator=(const SoftHsmEnvironment&) = delete;
  ~SoftHsmEnvironment();

  // softhsm2-util --init-token --free; throws std::runtime_error if it fails.
  void add_token(const std::string& label, const std::string& pin = kDefaultPin,
                 const std::string& so_pin = kDefaultSoPin);
  // softhsm2-util --delete-token: what a test uses to "pull the token out".
  void delete_token(const std::string& label);

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }
  [[nodiscard]] std::filesystem::path conf_path() const { return dir_ / "softhsm2.conf"; }
  [[nodiscard]] std::filesystem::path token_dir() const { return dir_ / "tokens"; }

 private:
  TempDir dir_{"idvault-softhsm"};
};

// One environment with one initialised token.
class SoftHsmToken {
 public:
  explicit SoftHsmToken(std::string label = "test", std::string pin = kDefaultPin);

  [[nodiscard]] const std::string& label() const noexcept { return label_; }
  [[nodiscard]] SecretBytes pin() const { return SecretBytes::from_string(pin_); }
  [[nodiscard]] std::string uri() const { return "pkcs11:token=" + label_; }
  [[nodiscard]] std::filesystem::path module_path() const { return softhsm_module_path(); }
  [[nodiscard]] SoftHsmEnvironment& environment() noexcept { return *env_; }
  // Removes the token from under whoever is using it.
  void remove() { env_->delete_token(label_); }

 private:
  std::unique_ptr<SoftHsmEnvironment> env_;
  std::string label_;
  std::string pin_;
};

}  // namespace idvault::testing
