#include "tests/host/rp/service_side_fixture.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "vault/model/auth_link.h"

extern char** environ;

namespace idvault::testing {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

SecretBytes secret_of(const std::string& bytes) {
  return SecretBytes::from_string(bytes);
}

}  // namespace

std::vector<std::string> ProcessResult::out_lines() const {
  return split_lines(out);
}
std::vector<std::string> ProcessResult::err_lines() const {
  return split_lines(err);
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text) {
  const TempDir dir("idvault-proc");
  write_file(dir / "in", stdin_text);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, (dir / "in").c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir / "out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (dir / "err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ProcessResult result;
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(dir / "out");
  result.err = read_file(dir / "err");
  return result;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string sha256_hex_of(const std::string& bytes) {
  unsigned char digest[32];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 15]);
  }
  return hex;
}

std::string base64_of(const std::string& bytes) {
  return base64_encode(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string spki_pem_of(const std::vector<std::uint8_t>& spki_der) {
  const std::string body = base64_encode(spki_der);
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < body.size(); i += 64) pem += body.substr(i, 64) + "\n";
  return pem + "-----END PUBLIC KEY-----\n";
}

std::string scan_bytes(const std::string& tag, std::size_t size) {
  std::string bytes = "\xff\xd8\xff\xe0JFIF-" + tag + "-";
  for (std::uint32_t i = 0; bytes.size() < size; ++i)
    bytes += tag + std::to_string(i * 2654435761u) + ",";
  bytes.resize(size);
  return bytes;
}

std::string all_types_scope() {
  nlohmann::json data = nlohmann::json::array();
  data.push_back({{"type", "personal_details"}, {"native_names", true}});
  for (const char* id : {"passport", "driver_license", "identity_card", "internal_passport"}) {
    data.push_back({{"type", id}, {"selfie", true}, {"translation", true}});
  }
  data.push_back({{"type", "address"}});
  for (const char* proof : {"utility_bill", "bank_statement", "rental_agreement",
                            "passport_registration", "temporary_registration"}) {
    data.push_back({{"type", proof}, {"translation", true}});
  }
  data.push_back({{"type", "phone_number"}});
  data.push_back({{"type", "email"}});
  return nlohmann::json{{"data", data}, {"v", 1}}.dump();
}

TestHolder::TestHolder(const fs::path& dir)
    : store_(vault::VaultStore::open(dir / "holder.db", true)),
      master_(vault::SoftwareMasterKey::generate()),
      identity_(vault::SoftwareSigningKey::generate()),
      vault_(std::make_unique<vault::HolderVault>(*store_, master_)) {}

void TestHolder::put_everything() {
  const nlohmann::json personal = {{"first_name", "Ada"},        {"last_name", "Lovelace"},
                                   {"first_name_native", "Ада"}, {"last_name_native", "Лавлейс"},
                                   {"birth_date", "10.12.1815"}, {"gender", "female"},
                                   {"country_code", "GB"},       {"residence_country_code", "GB"}};
  const nlohmann::json id_doc = {{"document_no", "123456789"}, {"expiry_date", "01.01.2030"}};
  const nlohmann::json address = {{"street_line1", "12 St James's Square"},
                                  {"city", "London"},
                                  {"country_code", "GB"},
                                  {"post_code", "SW1Y 4LB"}};
  const auto element = [&](vault::ElementType type) {
    vault::PlainElement plain;
    plain.type = type;
    return plain;
  };
  const auto file = [&](vault::PlainElement& plain, const std::string& slot, std::size_t size) {
    const std::string type(vault::to_string(plain.type));
    std::vector<std::string>& kept = put_files[type][slot];
    const std::string bytes = scan_bytes(type + "-" + slot + std::to_string(kept.size()), size);
    kept.push_back(bytes);
    if (slot == "front_side") plain.front_side = secret_of(bytes);
    if (slot == "reverse_side") plain.reverse_side = secret_of(bytes);
    if (slot == "selfie") plain.selfie = secret_of(bytes);
    if (slot == "files") plain.files.push_back(secret_of(bytes));
    if (slot == "translation") plain.translation.push_back(secret_of(bytes));
  };
  {
    auto plain = element(vault::ElementType::personal_details);
    plain.data = personal;
    put(plain);
  }
  for (auto type : {vault::ElementType::passport, vault::ElementType::driver_license,
                    vault::ElementType::identity_card, vault::ElementType::internal_passport}) {
    auto plain = element(type);
    plain.data = id_doc;
    file(plain, "front_side", 5000);
    if (type == vault::ElementType::driver_license || type == vault::ElementType::identity_card) {
      file(plain, "reverse_side", 4000);
    }
    file(plain, "selfie", 3000);
    file(plain, "translation", 700);
    put(plain);
  }
  {
    auto plain = element(vault::ElementType::address);
    plain.data = address;
    put(plain);
  }
  for (auto type : {vault::ElementType::utility_bill, vault::ElementType::bank_statement,
                    vault::ElementType::rental_agreement, vault::ElementType::passport_registration,
                    vault::ElementType::temporary_registration}) {
    auto plain = element(type);
    file(plain, "files", 1200);
    file(plain, "files", 10);
    file(plain, "translation", 50);
    put(plain);
  }
  {
    auto plain = element(vault::ElementType::phone_number);
    plain.value = "+447700900123";
    put(plain);
  }
  {
    auto plain = element(vault::ElementType::email);
    plain.value = "ada@example.org";
    put(plain);
  }
  put_data["personal_details"] = {{"data", personal}};
  for (const char* id : {"passport", "driver_license", "identity_card", "internal_passport"}) {
    put_data[id] = {{"data", id_doc}};
  }
  put_data["address"] = {{"data", address}};
  put_data["phone_number"] = {
      {"value", "447700900123"}};  // stored without the '+', as Telegram does
  put_data["email"] = {{"value", "ada@example.org"}};
}

vault::ShareBundle TestHolder::share_bundle(const std::string& link, std::int64_t now) {
  const vault::AuthorizationRequest request = vault::parse_authorization_link(link);
  const vault::ShareOffer offer = vault_->plan_share(request);
  return vault_->share(request, offer, identity_, now == 0 ? ::time(nullptr) : now);
}

std::string TestHolder::share(const std::string& link, std::int64_t now) {
  return share_bundle(link, now).to_json().dump();
}

void ServiceSideTest::SetUp() {
  env_ = std::make_unique<SoftHsmEnvironment>();
  env_->add_token("service");
  env_->add_token("verifier");
  pin_file_ = dir_ / "pin";
  write_file(pin_file_, std::string(kDefaultPin) + "\n");
  fs::permissions(pin_file_, fs::perms::owner_read | fs::perms::owner_write);
  module_ = softhsm_module_path().string();
}

void ServiceSideTest::TearDown() {
  env_.reset();
}

ProcessResult ServiceSideTest::rp(const std::vector<std::string>& args,
                                  const std::string& stdin_text) {
  std::vector<std::string> argv = {IDVAULT_RP_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, stdin_text);
}

ProcessResult ServiceSideTest::verifier(const std::vector<std::string>& args,
                                        const std::string& stdin_text) {
  std::vector<std::string> argv = {IDVAULT_VERIFIER_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, stdin_text);
}

std::string ServiceSideTest::make_service_key(const std::string& label) {
  ProcessResult result = rp({"keygen", "--module", module_, "--token", "pkcs11:token=service",
                             "--label", label, "--pin-file", pin_file_.string()});
  if (result.status != 0) throw std::runtime_error("keygen failed: " + result.err);
  write_file(dir_ / (label + ".pem"), result.out);
  return "pkcs11:token=service;object=" + label;
}

std::string ServiceSideTest::make_verifier_key(const std::string& label) {
  ProcessResult result =
      verifier({"keygen", "--module", module_, "--token", "pkcs11:token=verifier", "--label", label,
                "--pin-file", pin_file_.string()});
  if (result.status != 0) throw std::runtime_error("verifier keygen failed: " + result.err);
  write_file(dir_ / (label + ".pem"), result.out);
  return "pkcs11:token=verifier;object=" + label;
}

std::string ServiceSideTest::request_link(const std::string& key_uri, const std::string& scope,
                                          const std::string& nonce) {
  ProcessResult result = rp({"request", "--module", module_, "--key", key_uri, "--scope", scope,
                             "--nonce", nonce, "--service-id", "test-service"});
  if (result.status != 0) throw std::runtime_error("request failed: " + result.err);
  auto lines = result.out_lines();
  if (lines.size() != 1)
    throw std::runtime_error("request printed " + std::to_string(lines.size()) + " lines");
  return lines[0];
}

std::vector<std::string> ServiceSideTest::decrypt_args(const std::string& key_uri) const {
  return {"decrypt", "--module", module_, "--key", key_uri, "--pin-file", pin_file_.string()};
}

fs::path ServiceSideTest::write(const std::string& name, const std::string& bytes) {
  write_file(dir_ / name, bytes);
  return dir_ / name;
}

}  // namespace idvault::testing
