// What the cloud's tests share: idvault-cloud started as a real process on port 0, a
// device with a software identity key, and the build-time RSA slot and recovery keys.
// The including target defines IDVAULT_CLOUD_BIN and IDVAULT_ACCOUNT_LOG_TEST_KEYS.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/openssl_owners.h"
#include "tests/support/account_log_keys.h"
#include "vault/keys/keys.h"
#include "vault/keys/software_keys.h"
#include "vault/signed/signed_statement.h"

namespace idvault::testing {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The SPKI DER of a build-time RSA key (tests/vault/CMakeLists.txt makes them).
inline vault::Bytes rsa_public(const std::string& name) {
  return test::account_log_key_spki(IDVAULT_ACCOUNT_LOG_TEST_KEYS, name);
}

// A build-time RSA key signing PS256, as the recovery key does once opened.
class TestPssKey final : public vault::PssSigningKey {
 public:
  explicit TestPssKey(const std::string& name) {
    std::ifstream in(std::filesystem::path(IDVAULT_ACCOUNT_LOG_TEST_KEYS) / (name + ".pem"));
    std::stringstream text;
    text << in.rdbuf();
    const std::string pem = text.str();
    openssl::Bio bio = openssl::make_memory_bio(pem.data(), pem.size());
    key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    EXPECT_TRUE(key_) << name;
  }
  [[nodiscard]] vault::Bytes sign_pss_sha256(vault::ByteView message) const override {
    return vault::sign_ps256(key_.get(), message);
  }
  [[nodiscard]] vault::Bytes public_key_spki_der() const override {
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key_.get(), &der);
    openssl::Buffer owned(der);
    return {der, der + size};
  }

 private:
  openssl::PKey key_;
};

// idvault-cloud running on port 0; SIGTERM at the end must stop it with status 0.
class CloudProcess {
 public:
  explicit CloudProcess(std::vector<std::string> args) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    args.insert(args.begin(), IDVAULT_CLOUD_BIN);
    args.emplace_back("--listen");
    args.emplace_back("127.0.0.1:0");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c = 0;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(out[0]);
    const std::string prefix = "idvault-cloud: listening on http://127.0.0.1:";
    if (line.rfind(prefix, 0) != 0)
      throw std::runtime_error("idvault-cloud did not start: " + line);
    port_ = std::stoi(line.substr(prefix.size()));
  }
  ~CloudProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  CloudProcess(const CloudProcess&) = delete;  // one owner stops the process
  CloudProcess& operator=(const CloudProcess&) = delete;
  CloudProcess(CloudProcess&&) = delete;
  CloudProcess& operator=(CloudProcess&&) = delete;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// One device of an account: its identity key signs requests and log entries.
struct CloudDevice {
  CloudDevice() = default;
  explicit CloudDevice(std::string name) : id(std::move(name)) {}
  std::string id;
  vault::SoftwareSigningKey key = vault::SoftwareSigningKey::generate();
  vault::Bytes slot_key;
};

}  // namespace idvault::testing
