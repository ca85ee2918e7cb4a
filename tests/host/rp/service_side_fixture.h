// What the service-side tests share: a throwaway SoftHSM2 environment with a service
// token and a verification provider's token, a PIN file, the idvault-rp and
// idvault-verifier binaries run as real processes, and a holder (HolderVault on a
// temporary store with software keys) that makes real share bundles.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"
#include "vault/keys/software_keys.h"
#include "vault/store/holder_vault.h"
#include "vault/store/vault_store.h"

namespace idvault::testing {

struct ProcessResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  [[nodiscard]] std::vector<std::string> out_lines() const;
  [[nodiscard]] std::vector<std::string> err_lines() const;
};

// Runs argv[0] with argv, no shell, in its own session (so it has no terminal to prompt
// on), stdin from stdin_text; waits for it.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = {});

[[nodiscard]] std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);
[[nodiscard]] std::string sha256_hex_of(const std::string& bytes);
[[nodiscard]] std::string base64_of(const std::string& bytes);
// "BEGIN PUBLIC KEY" PEM of a SubjectPublicKeyInfo.
[[nodiscard]] std::string spki_pem_of(const std::vector<std::uint8_t>& spki_der);

// A scan-like file: a JPEG-ish header, then bytes that differ per tag.
[[nodiscard]] std::string scan_bytes(const std::string& tag, std::size_t size);

// The holder's side, in-process: stores documents, answers a request link with a bundle.
class TestHolder {
 public:
  explicit TestHolder(const std::filesystem::path& dir);
  void put(const vault::PlainElement& element) { vault_->put(element); }
  // Every one of the 13 types, with files in every slot it takes; remembers what it put.
  void put_everything();
  // Bundle JSON text for the link (all satisfiable scope items consented).
  [[nodiscard]] std::string share(const std::string& link, std::int64_t now = 0);
  [[nodiscard]] vault::ShareBundle share_bundle(const std::string& link, std::int64_t now = 0);
  [[nodiscard]] const vault::SoftwareSigningKey& identity() const noexcept { return identity_; }
  [[nodiscard]] vault::HolderVault& vault() noexcept { return *vault_; }
  [[nodiscard]] vault::VaultStore& store() noexcept { return *store_; }
  // What was put: type -> {"data": {...}} or {"value": ...}, and the file bytes by slot.
  std::map<std::string, nlohmann::json> put_data;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> put_files;

 private:
  std::unique_ptr<vault::VaultStore> store_;
  vault::SoftwareMasterKey master_;
  vault::SoftwareSigningKey identity_;
  std::unique_ptr<vault::HolderVault> vault_;
};

class ServiceSideTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // idvault-rp ARGS... / idvault-verifier ARGS...
  ProcessResult rp(const std::vector<std::string>& args, const std::string& stdin_text = {});
  ProcessResult verifier(const std::vector<std::string>& args, const std::string& stdin_text = {});

  // keygen on the service token; returns the key's URI and writes its PEM to dir/<label>.pem.
  std::string make_service_key(const std::string& label = "rp");
  std::string make_verifier_key(const std::string& label = "attest");
  // idvault-rp request --key URI ... ; the link.
  std::string request_link(const std::string& key_uri, const std::string& scope,
                           const std::string& nonce);
  // The standard decrypt arguments for a key.
  [[nodiscard]] std::vector<std::string> decrypt_args(const std::string& key_uri) const;
  std::filesystem::path write(const std::string& name, const std::string& bytes);

  std::unique_ptr<SoftHsmEnvironment> env_;
  TempDir dir_{"idvault-rp-test"};
  std::filesystem::path pin_file_;
  std::string module_;
};

[[nodiscard]] std::string all_types_scope();

}  // namespace idvault::testing
