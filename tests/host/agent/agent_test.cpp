// The holder's agent end to end: a real socket, a real (throwaway) SoftHSM2 token, the
// real store on disk. Each test is its own process under ctest, with its own token.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/base64.h"
#include "host/agent/agent_methods.h"
#include "host/agent/holder_agent.h"
#include "host/rpc/agent_socket.h"
#include "host/rpc/rpc_server.h"
#include "tests/host/rpc/rpc_test_client.h"
#include "tests/support/deep_json.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"
#include "vault/keys/recovery_key.h"
#include "vault/keys/software_keys.h"
#include "vault/model/auth_link.h"
#include "vault/signed/attestation.h"
#include "vault/signed/element_error_signature.h"
#include "vault/signed/share_receipt.h"
#include "vault/store/sqlite_db.h"
#include "vault/wire/passport_data.h"
#include "vault/wire/passport_decryptor.h"

using namespace idvault;
using idvault::testing::Client;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string b64(std::string_view text) {
  return base64_encode(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

// An idvault:// authorization link from this service for this scope.
std::string link_to(const vault::SoftwareServiceKey& service, const std::string& service_id,
                    const std::string& scope, const std::string& nonce) {
  vault::AuthorizationRequest request;
  request.service_id = service_id;
  request.scope_text = scope;
  request.scope = vault::parse_scope(scope);
  request.public_key_pem = service.public_key_pem();
  request.nonce = nonce;
  return vault::build_authorization_link(request, vault::LinkFormat::idvault);
}

// A scan whose bytes are easy to look for on disk.
std::string scan(std::string_view tag, std::size_t size) {
  std::string bytes = "\xff\xd8\xff\xe0JFIF-" + std::string(tag) + "-";
  while (bytes.size() < size) bytes += "SCANBYTES-" + std::string(tag) + "-";
  bytes.resize(size);
  return bytes;
}

json personal_details() {
  return {{"first_name", "Ada"},        {"last_name", "Lovelace"},
          {"first_name_native", "Ada"}, {"last_name_native", "Lovelace"},
          {"birth_date", "10.12.1815"}, {"gender", "female"},
          {"country_code", "GB"},       {"residence_country_code", "GB"}};
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_path_ = dir_ / "run" / "agent.sock";
    consent_yes_ = write_script("yes.sh",
                                "#!/bin/sh\ncat > \"$(dirname \"$0\")/consent-input.json\"\necho "
                                "\"$1\" > \"$(dirname \"$0\")/consent-summary.txt\"\nexit 0\n");
    consent_no_ = write_script("no.sh", "#!/bin/sh\nexit 1\n");
  }
  void TearDown() override { stop(); }

  fs::path write_script(const std::string& name, const std::string& body) {
    fs::path path = dir_ / name;
    std::ofstream(path) << body;
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  void start(agent::AgentConfig config = {}) {
    if (config.store_path.empty()) config.store_path = dir_ / "data" / "vault.db";
    config.module_path = idvault::testing::softhsm_module_path();
    if (config.token_uri == "pkcs11:") config.token_uri = token_.uri();
    if (config.confirm_program.empty()) config.confirm_program = consent_yes_;
    agent_ = std::make_unique<agent::HolderAgent>(config);
    agent::register_agent_methods(methods_, *agent_);
    rpc::RpcServerOptions options;
    options.allowed_uid = ::geteuid();
    server_ =
        std::make_unique<rpc::RpcServer>(rpc::listen_on_path(socket_path_), methods_, options);
    agent_->set_event_sink(
        [this](const std::string& event, const json& params) { server_->publish(event, params); });
    thread_ = std::thread([this] { server_->run(); });
  }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
    agent_.reset();
  }

  json call(const std::string& method, const json& params = json::object()) {
    Client client(socket_path_);
    return client.call(method, params);
  }
  json init() { return call("init", {{"pin", idvault::testing::kDefaultPin}}); }
  // What the last consent prompt read on its standard input.
  json consent_input() {
    std::ifstream file(dir_ / "consent-input.json");
    return json::parse(std::string((std::istreambuf_iterator<char>(file)), {}));
  }

  std::string store_bytes() {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::ifstream file(dir_ / "data" / (std::string("vault.db") + suffix), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(file), {});
    }
    // and the file ciphertexts beside the database
    for (const auto& entry : fs::directory_iterator(dir_ / "data" / "vault.db.files")) {
      std::ifstream file(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(file), {});
    }
    return all;
  }

  // element.put with these files as binary attachments after the line.
  json put_attached(const std::string& type, const std::vector<std::string>& files,
                    const json& extra = json::object()) {
    json params = extra;
    params["type"] = type;
    params["files"] = json::array();
    json sizes = json::array();
    std::string bytes;
    for (std::size_t i = 0; i < files.size(); ++i) {
      params["files"].push_back({{"attachment", i}});
      sizes.push_back(files[i].size());
      bytes += files[i];
    }
    Client client(socket_path_);
    client.send(json{{"jsonrpc", "2.0"},
                     {"id", 1},
                     {"method", "element.put"},
                     {"params", params},
                     {"attachments", sizes}}
                    .dump() +
                "\n" + bytes);
    const std::string line = client.read_line();
    return line.empty() ? json() : json::parse(line);
  }

  idvault::testing::SoftHsmToken token_{"holder"};
  idvault::testing::TempDir dir_{"idvault-agent"};
  fs::path socket_path_;
  fs::path consent_yes_;
  fs::path consent_no_;
  rpc::MethodTable methods_;
  std::unique_ptr<agent::HolderAgent> agent_;
  std::unique_ptr<rpc::RpcServer> server_;
  std::thread thread_;
};

vault::PassportData passport_data_of(const json& bundle) {
  return vault::passport_data_from_json(bundle.at("passport_data"));
}

}  // namespace

TEST_F(AgentTest, StatusBeforeInitAndClearErrorsForEverythingElse) {
  start();
  json status = call("status")["result"];
  EXPECT_EQ(status["initialised"], false);
  EXPECT_EQ(status["unlocked"], false);
  EXPECT_EQ(call("element.list")["error"]["code"], -32002);
  EXPECT_EQ(call("unlock", {{"pin", "1234"}})["error"]["code"], -32002);
}

TEST_F(AgentTest, InitChoosesTheAesModeOnSoftHsmAndKeepsKeysOnTheToken) {
  start();
  json result = init()["result"];
  EXPECT_EQ(result["mode"], "token_aes");
  EXPECT_EQ(result["token"], "holder");
  EXPECT_EQ(result["identity_key_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(init()["error"]["code"], -32011);  // already initialised
  json status = call("status")["result"];
  EXPECT_EQ(status["initialised"], true);
  EXPECT_EQ(status["unlocked"], true);
}

TEST_F(AgentTest, EveryElementTypeRoundTripsWithItsFiles) {
  start();
  ASSERT_TRUE(init().contains("result"));
  const json id_doc = {{"document_no", "123456789"}, {"expiry_date", "01.01.2030"}};
  const json address = {{"street_line1", "12 St James's Square"},
                        {"city", "London"},
                        {"country_code", "GB"},
                        {"post_code", "SW1Y 4LB"}};
  std::vector<json> puts = {
      {{"type", "personal_details"}, {"data", personal_details()}},
      {{"type", "passport"},
       {"data", id_doc},
       {"front_side", b64(scan("pp-front", 5000))},
       {"selfie", b64(scan("pp-selfie", 3000))},
       {"translation", {b64(scan("pp-tr", 700))}}},
      {{"type", "internal_passport"}, {"data", id_doc}, {"front_side", b64(scan("ip-front", 900))}},
      {{"type", "driver_license"},
       {"data", id_doc},
       {"front_side", b64(scan("dl-front", 900))},
       {"reverse_side", b64(scan("dl-back", 800))}},
      {{"type", "identity_card"},
       {"data", id_doc},
       {"front_side", b64(scan("ic-front", 900))},
       {"reverse_side", b64(scan("ic-back", 800))},
       {"selfie", b64(scan("ic-selfie", 100))}},
      {{"type", "address"}, {"data", address}},
      {{"type", "phone_number"}, {"value", "+447700900123"}},
      {{"type", "email"}, {"value", "ada@example.org"}},
  };
  for (const char* proof : {"utility_bill", "bank_statement", "rental_agreement",
                            "passport_registration", "temporary_registration"}) {
    puts.push_back(
        {{"type", proof},
         {"files",
          {b64(scan(std::string(proof) + "-1", 1200)), b64(scan(std::string(proof) + "-2", 10))}},
         {"translation", {b64(scan(std::string(proof) + "-tr", 50))}}});
  }
  for (const json& element : puts) {
    json answer = call("element.put", element);
    ASSERT_TRUE(answer.contains("result")) << element["type"] << ": " << answer.dump();
  }
  json list = call("element.list")["result"];
  EXPECT_EQ(list.size(), 13u);
  for (const json& element : puts) {
    json got = call("element.get", {{"type", element["type"]}})["result"];
    for (const char* slot : {"front_side", "reverse_side", "selfie", "files", "translation"}) {
      EXPECT_EQ(got.value(slot, json()), element.value(slot, json()))
          << element["type"] << "." << slot;
    }
    if (element.contains("data")) {
      for (auto& [key, value] : element["data"].items()) {
        EXPECT_EQ(got["data"][key], value) << element["type"] << ".data." << key;
      }
    }
  }
  EXPECT_EQ(call("element.get", {{"type", "phone_number"}})["result"]["value"], "447700900123");
  EXPECT_EQ(call("element.get", {{"type", "email"}})["result"]["value"], "ada@example.org");
}

TEST_F(AgentTest, NothingReadableReachesTheStoreOrItsWal) {
  start();
  init();
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "SECRETDOC42"}, {"expiry_date", ""}}},
                                   {"front_side", b64(scan("FRONTMARK", 4096))}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  std::string disk = store_bytes();
  ASSERT_FALSE(disk.empty());
  for (const char* plaintext :
       {"Lovelace", "SECRETDOC42", "FRONTMARK", "SCANBYTES", "10.12.1815"}) {
    EXPECT_EQ(disk.find(plaintext), std::string::npos) << plaintext << " is readable on disk";
  }
  // Telegram sends phone and e-mail in clear, and so do we; they are the only exception.
  EXPECT_NE(disk.find("ada@example.org"), std::string::npos);
}

TEST_F(AgentTest, BadElementsGetErrorsThatNameTheField) {
  start();
  init();
  json bad_date = personal_details();
  bad_date["birth_date"] = "31.02.1990";
  json answer = call("element.put", {{"type", "personal_details"}, {"data", bad_date}});
  EXPECT_EQ(answer["error"]["code"], -32009);
  EXPECT_EQ(answer["error"]["data"]["where"], "personal_details.birth_date");
  EXPECT_EQ(call("element.put",
                 {{"type", "passport"}, {"data", {{"document_no", "1"}}}})["error"]["code"],
            -32009);
  EXPECT_EQ(call("element.put", {{"type", "nonsense"}})["error"]["code"], -32602);
  EXPECT_EQ(
      call("element.put", {{"type", "utility_bill"}, {"files", {"not base64!"}}})["error"]["code"],
      -32602);
  EXPECT_EQ(call("element.get", {{"type", "passport"}})["error"]["code"], -32008);
  EXPECT_EQ(call("element.delete", {{"type", "passport"}})["error"]["code"], -32008);
  EXPECT_EQ(call("unlock", json::object())["error"]["code"], -32602);
}

TEST_F(AgentTest, LockLogsOutAndWrongPinsAreReportedNotRetried) {
  start();
  init();
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  const auto before_lock = std::time(nullptr);
  EXPECT_EQ(call("lock")["result"]["was_unlocked"], true);
  json locked = call("element.list")["error"];
  EXPECT_EQ(locked["code"], -32003);
  // Says why and when, as gpg-agent says "card removed".
  EXPECT_NE(locked["message"].get<std::string>().find("locked on request at "), std::string::npos)
      << locked;
  EXPECT_EQ(locked["data"]["reason"], "requested");
  EXPECT_GE(locked["data"]["locked_at"].get<std::int64_t>(), before_lock);
  EXPECT_EQ(call("status")["result"]["lock_reason"], "requested");
  json wrong = call("unlock", {{"pin", "9999"}});
  EXPECT_EQ(wrong["error"]["code"], -32004);
  EXPECT_NE(wrong["error"]["message"].get<std::string>().find("wrong PIN"), std::string::npos);
  json again = call("unlock", {{"pin", "9999"}});
  EXPECT_EQ(again["error"]["code"], -32004);
  EXPECT_EQ(again["error"]["data"]["resend_refused"], true);
  EXPECT_EQ(call("unlock", {{"pin", idvault::testing::kDefaultPin}})["result"]["unlocked"], true);
  EXPECT_EQ(call("element.list")["result"].size(), 1u);
}

TEST_F(AgentTest, TheAsymmetricModeWorksOnSoftHsmToo) {
  agent::AgentConfig config;
  config.force_asymmetric = true;
  start(config);
  EXPECT_EQ(init()["result"]["mode"], "asymmetric");
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  call("lock");
  ASSERT_TRUE(call("unlock", {{"pin", idvault::testing::kDefaultPin}}).contains("result"));
  EXPECT_EQ(call("element.get", {{"type", "personal_details"}})["result"]["data"]["last_name"],
            "Lovelace");
  EXPECT_EQ(store_bytes().find("Lovelace"), std::string::npos);
}

TEST_F(AgentTest, AuthorizeAsksTheHolderAndSharesTheStoredCiphertext) {
  start();
  init();
  const std::string front = scan("front", 20000);
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "X1234567"}, {"expiry_date", ""}}},
                                   {"front_side", b64(front)},
                                   {"selfie", b64(scan("selfie", 1000))}})
                  .contains("result"));

  auto service = vault::SoftwareServiceKey::generate();
  vault::AuthorizationRequest request;
  request.service_id = "424242";
  request.scope_text =
      R"({"data":["personal_details",{"one_of":["identity_card","passport"]}],"v":1})";
  request.scope = vault::parse_scope(request.scope_text);
  request.public_key_pem = service.public_key_pem();
  request.nonce = "nonce-for-this-request";
  request.callback_url = "http://127.0.0.1:9/callback";
  json answer =
      call("authorize",
           {{"link", vault::build_authorization_link(request, vault::LinkFormat::idvault)}});
  ASSERT_TRUE(answer.contains("result")) << answer.dump();
  json result = answer["result"];

  // The prompt saw who asks and for what (on its input); the selfie was not asked for,
  // so not offered.
  const std::string summary_text = consent_input()["summary"];
  EXPECT_NE(summary_text.find("424242"), std::string::npos);
  EXPECT_NE(summary_text.find("passport"), std::string::npos);
  EXPECT_EQ(summary_text.find("selfie"), std::string::npos);

  const json& bundle = result["bundle"];
  vault::PassportData passport_data = passport_data_of(bundle);
  vault::PassportDecryptor decryptor(service);
  std::map<std::string, vault::Bytes> files;
  for (auto& [id, text] : bundle["files"].items())
    files[id] = base64_decode(text.get<std::string>(), id);
  auto decrypted =
      decryptor.decrypt(passport_data,
                        [&](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
                          auto it = files.find(std::string(id));
                          if (it == files.end()) return std::nullopt;
                          return std::span<const std::uint8_t>(it->second);
                        },
                        {.expected_nonce = "nonce-for-this-request"});
  ASSERT_EQ(decrypted.elements.size(), 2u);
  const auto* passport = decrypted.find(vault::ElementType::passport);
  ASSERT_NE(passport, nullptr);
  EXPECT_EQ(passport->data["document_no"], "X1234567");
  ASSERT_TRUE(passport->front_side.has_value());
  EXPECT_EQ(
      std::string(passport->front_side->plaintext->begin(), passport->front_side->plaintext->end()),
      front);
  EXPECT_FALSE(passport->selfie.has_value());

  // The receipt is signed by the identity key and names this service and nonce.
  vault::ShareReceipt receipt = vault::receipt_from_json(bundle["receipt"]);
  EXPECT_TRUE(vault::verify_receipt(receipt));
  EXPECT_EQ(receipt.fields.nonce, "nonce-for-this-request");
  EXPECT_EQ(receipt.fields.service_key_sha256,
            vault::service_key_fingerprint(service.public_key_pem()));
  EXPECT_EQ(receipt.fields.credentials_hash, passport_data.credentials.hash);

  // A second share: the stored ciphertext is sent as it is (no re-encryption per share).
  json second =
      call("authorize",
           {{"link", vault::build_authorization_link(request, vault::LinkFormat::tg)}})["result"];
  EXPECT_EQ(second["bundle"]["passport_data"]["data"][1]["data"],
            bundle["passport_data"]["data"][1]["data"]);
  json shares = call("shares", {{"verify", true}})["result"];
  EXPECT_EQ(shares["shares"].size(), 2u);
  EXPECT_EQ(shares["verified"]["valid"], true);
}

// A link with a known service id but another public key is how a look-alike request
// gets a share: the prompt names the key (as the receipt does) and the callback's host,
// and says loudly when the key is not the one this service used before (issue 13.4).
TEST_F(AgentTest, ConsentNamesTheServiceKeyAndFlagsAChangedOne) {
  start();
  init();
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto genuine = vault::SoftwareServiceKey::generate();
  auto impostor = vault::SoftwareServiceKey::generate();
  const std::string genuine_key = vault::service_key_fingerprint(genuine.public_key_pem());
  const std::string impostor_key = vault::service_key_fingerprint(impostor.public_key_pem());
  const auto link_with = [](const vault::SoftwareServiceKey& key, const std::string& nonce) {
    vault::AuthorizationRequest request;
    request.service_id = "77";
    request.scope_text = "email";
    request.scope = vault::parse_scope(request.scope_text);
    request.public_key_pem = key.public_key_pem();
    request.nonce = nonce;
    request.callback_url = "https://shop.example.org/passport/callback";
    return vault::build_authorization_link(request, vault::LinkFormat::idvault);
  };

  json first = call("authorize", {{"link", link_with(genuine, "n1")}});
  ASSERT_TRUE(first.contains("result")) << first.dump();
  json input = consent_input();
  EXPECT_EQ(input["service_key_sha256"], genuine_key);
  EXPECT_EQ(input["service_key_history"], "first_use");
  EXPECT_EQ(input["callback_host"], "shop.example.org");
  const std::string first_summary = input["summary"];
  EXPECT_NE(first_summary.find(genuine_key.substr(0, 16)), std::string::npos) << first_summary;
  EXPECT_NE(first_summary.find("shop.example.org"), std::string::npos) << first_summary;
  // The receipt signs the same fingerprint the holder was shown.
  EXPECT_EQ(
      vault::receipt_from_json(first["result"]["bundle"]["receipt"]).fields.service_key_sha256,
      genuine_key);

  json again = call("authorize", {{"link", link_with(genuine, "n2")}});
  ASSERT_TRUE(again.contains("result")) << again.dump();
  EXPECT_EQ(consent_input()["service_key_history"], "known");
  EXPECT_EQ(again["result"]["service_key_history"], "known");
  const std::string known_summary = consent_input()["summary"];
  EXPECT_EQ(known_summary.find("WARNING"), std::string::npos) << known_summary;

  // The same link with the impostor's key: not byte-identical any more, and loud.
  json swapped = call("authorize", {{"link", link_with(impostor, "n3")}});
  ASSERT_TRUE(swapped.contains("result")) << swapped.dump();
  input = consent_input();
  const std::string swapped_summary = input["summary"];
  EXPECT_NE(swapped_summary, known_summary);
  EXPECT_EQ(swapped_summary.rfind("WARNING: service \"77\" now uses a DIFFERENT KEY", 0), 0u)
      << swapped_summary;
  EXPECT_NE(swapped_summary.find(genuine_key.substr(0, 16)), std::string::npos) << swapped_summary;
  EXPECT_NE(swapped_summary.find(impostor_key.substr(0, 16)), std::string::npos) << swapped_summary;
  EXPECT_EQ(input["service_key_sha256"], impostor_key);
  EXPECT_EQ(input["service_key_history"], "changed");
  EXPECT_EQ(input["previous_service_key_sha256"], genuine_key);
  EXPECT_EQ(swapped["result"]["service_key_history"], "changed");

  // The file that remembers the keys is the holder's alone.
  struct stat info {};
  ASSERT_EQ(::stat((dir_ / "data" / "vault.db.services.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

// The prompt is open for as long as the person takes; an element replaced meanwhile is
// not what they agreed to send (issue 13.16). The share refuses, and nothing is logged.
TEST_F(AgentTest, AnElementChangedWhileThePromptIsOpenIsNotShared) {
  const fs::path asked = dir_ / "asked";
  const fs::path go = dir_ / "go";
  agent::AgentConfig config;
  config.confirm_program = write_script(
      "slow-yes.sh", "#!/bin/sh\ncat > '" + (dir_ / "consent-input.json").string() + "'\ntouch '" +
                         asked.string() + "'\ni=0\nwhile [ ! -e '" + go.string() +
                         "' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\nexit 0\n");
  start(config);
  init();
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  json answer;
  std::thread share([&] {
    answer = call("authorize", {{"link", link_to(service, "7", "email", "while-open")}});
  });
  for (int i = 0; i < 600 && !fs::exists(asked); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(asked)) << "the prompt was never asked";
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "eve@example.org"}}).contains("result"));
  std::ofstream(go) << "yes";
  share.join();

  ASSERT_TRUE(answer.contains("error"))
      << "shared a version the holder never saw: " << answer.dump();
  EXPECT_NE(
      answer["error"]["message"].get<std::string>().find("was changed after the holder was asked"),
      std::string::npos)
      << answer.dump();
  EXPECT_EQ(call("shares")["result"]["shares"].size(), 0u);
  // What the holder was shown: the version (element hash) of the element as it was.
  EXPECT_EQ(consent_input()["elements"][0]["type"], "email");
  EXPECT_TRUE(consent_input()["elements"][0]["version"].is_string());
}

TEST_F(AgentTest, NoConsentNothingShared) {
  agent::AgentConfig config;
  config.confirm_program = consent_no_;
  start(config);
  init();
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  json answer = call("authorize", {{"link", link_to(service, "7", "personal_details", "n")}});
  EXPECT_EQ(answer["error"]["code"], -32007);
  EXPECT_FALSE(answer["error"].contains("data") && answer["error"]["data"].contains("bundle"));
  EXPECT_EQ(call("shares")["result"]["shares"].size(), 0u);
}

TEST_F(AgentTest, AuthorizeWritesTheBundleToAPassedFile) {
  start();
  init();
  const std::string front = scan("front", 300000);
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "X1234567"}, {"expiry_date", ""}}},
                                   {"front_side", b64(front)}})
                  .contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  const std::string link = link_to(service, "99", "passport", "to-a-file");
  const std::string line =
      R"({"jsonrpc":"2.0","id":1,"method":"authorize","attachments":["fd"],"params":{"link":)" +
      json(link).dump() + R"(,"out":{"attachment":0}}})" + "\n";

  // A read-only file, or a pipe, is refused before anything is shared.
  const fs::path path = dir_ / "bundle.json";
  std::ofstream(path) << std::string(1u << 20, 'x');  // longer than the bundle: cut to it
  for (int flags : {O_RDONLY, O_WRONLY}) {
    int fd = -1;
    int pipe_ends[2] = {-1, -1};
    if (flags == O_RDONLY) {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } else {
      ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
      fd = pipe_ends[1];
    }
    Client client(socket_path_);
    client.send_passing(line, {fd});
    json refused = json::parse(client.read_line());
    EXPECT_EQ(refused["error"]["code"], -32602) << refused.dump();
    ::close(fd);
    if (pipe_ends[0] >= 0) ::close(pipe_ends[0]);
  }
  EXPECT_EQ(call("shares")["result"]["shares"].size(), 0u);

  const int out = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  Client client(socket_path_);
  client.send_passing(line, {out});
  ::close(out);
  json answer = json::parse(client.read_line());
  ASSERT_TRUE(answer.contains("result")) << answer.dump();
  EXPECT_FALSE(answer["result"].contains("bundle"));  // the megabytes went to the file
  std::ifstream written(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(written)), {});
  EXPECT_EQ(answer["result"]["bundle_bytes"], text.size());
  const json bundle = json::parse(text);
  vault::PassportData passport_data = passport_data_of(bundle);
  const vault::Bytes front_cipher = base64_decode(
      bundle["files"][passport_data.data.at(0).front_side->file_id].get<std::string>(), "front");
  vault::PassportDecryptor decryptor(service);  // holds the plaintexts
  auto decrypted =
      decryptor.decrypt(passport_data,
                        [&](std::string_view) -> std::optional<std::span<const std::uint8_t>> {
                          return std::span(front_cipher);
                        },
                        {.expected_nonce = "to-a-file"});
  const auto* passport = decrypted.find(vault::ElementType::passport);
  ASSERT_NE(passport, nullptr);
  const std::string shared(passport->front_side->plaintext->begin(),
                           passport->front_side->plaintext->end());
  EXPECT_TRUE(shared == front) << shared.size() << " bytes shared, " << front.size()
                               << " stored; first "
                               << static_cast<int>(shared.empty() ? -1 : shared[0]);
  EXPECT_TRUE(vault::verify_receipt(vault::receipt_from_json(bundle["receipt"])));
  EXPECT_EQ(call("shares")["result"]["shares"].size(), 1u);
}

TEST_F(AgentTest, ATamperedReceiptLogIsDetected) {
  start();
  init();
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  vault::AuthorizationRequest request;
  request.service_id = "7";
  request.scope_text = "email";
  request.scope = vault::parse_scope(request.scope_text);
  request.public_key_pem = service.public_key_pem();
  for (const char* nonce : {"one", "two", "three"}) {
    request.nonce = nonce;
    ASSERT_TRUE(call("authorize", {{"link", vault::build_authorization_link(
                                                request, vault::LinkFormat::idvault)}})
                    .contains("result"));
  }
  EXPECT_EQ(call("shares", {{"verify", true}})["result"]["verified"]["valid"], true);
  {
    vault::SqliteDatabase raw(dir_ / "data" / "vault.db", false);
    raw.execute(
        "UPDATE receipts SET receipt = replace(receipt, '\"two\"', '\"TWO\"') WHERE sequence = 2");
  }
  json verified = call("shares", {{"verify", true}})["result"]["verified"];
  EXPECT_EQ(verified["valid"], false);
  EXPECT_EQ(verified["first_bad_sequence"], 2);
}

TEST_F(AgentTest, RemovingTheTokenLocksTheVaultAndSaysSo) {
  start();
  init();
  Client listener(socket_path_);
  EXPECT_EQ(listener.call("events.subscribe")["result"]["subscribed"], true);
  token_.remove();
  agent_->watch();
  json event = json::parse(listener.read_line());
  EXPECT_EQ(event["method"], "locked");
  EXPECT_EQ(event["params"]["reason"], "token removed");
  json removed = json::parse(listener.read_line());
  EXPECT_EQ(removed["method"], "token_removed");
  EXPECT_EQ(call("status")["result"]["unlocked"], false);
  json locked = call("element.get", {{"type", "email"}})["error"];
  EXPECT_EQ(locked["code"], -32003);
  EXPECT_NE(locked["message"].get<std::string>().find("the token was removed at "),
            std::string::npos)
      << locked;
  EXPECT_EQ(locked["data"]["reason"], "token_removed");
  EXPECT_TRUE(locked["data"]["locked_at"].is_number_integer());
  json unlock = call("unlock", {{"pin", idvault::testing::kDefaultPin}});
  EXPECT_EQ(unlock["error"]["code"], -32006);
}

TEST_F(AgentTest, IdleTimeOutLocks) {
  agent::AgentConfig config;
  config.idle_timeout = std::chrono::seconds(1);
  start(config);
  init();
  EXPECT_EQ(call("status")["result"]["unlocked"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  agent_->watch();
  EXPECT_EQ(call("status")["result"]["unlocked"], false);
  json locked = call("element.list")["error"];
  EXPECT_EQ(locked["code"], -32003);
  EXPECT_NE(locked["message"].get<std::string>().find("after 1 s idle"), std::string::npos)
      << locked;
  EXPECT_EQ(locked["data"]["reason"], "idle_timeout");
}

TEST_F(AgentTest, KilledAgentLeavesAStoreThatReopens) {
  start();
  init();
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  stop();  // an abrupt end of this agent object; the store must reopen with everything
  start();
  EXPECT_EQ(call("status")["result"]["initialised"], true);
  ASSERT_TRUE(call("unlock", {{"pin", idvault::testing::kDefaultPin}}).contains("result"));
  EXPECT_EQ(call("element.get", {{"type", "personal_details"}})["result"]["data"]["first_name"],
            "Ada");
}

TEST_F(AgentTest, ARecoveryPasswordBringsTheVaultToANewToken) {
  start();
  EXPECT_EQ(call("init", {{"pin", idvault::testing::kDefaultPin},
                          {"recovery_password", "short"}})["error"]["code"],
            -32009);
  json made = call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}});
  ASSERT_EQ(made["result"]["recovery"], true) << made.dump();
  const std::string front = scan("recover-front", 7000);
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "R1"}, {"expiry_date", ""}}},
                                   {"front_side", b64(front)}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  stop();

  // The holder loses the token and gets a new one.
  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.token_uri = "pkcs11:token=spare";
  start(config);
  json other = call("unlock", {{"pin", idvault::testing::kDefaultPin}});
  EXPECT_NE(other["error"]["message"].get<std::string>().find("belongs to token 'holder'"),
            std::string::npos)
      << other.dump();
  json wrong = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                {"recovery_password", "wrong horse battery"}});
  EXPECT_EQ(wrong["error"]["message"], "wrong recovery password");
  json recovered = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                    {"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(recovered.contains("result")) << recovered.dump();
  EXPECT_EQ(recovered["result"]["token"], "spare");
  EXPECT_EQ(recovered["result"]["secrets"], 2);
  EXPECT_EQ(call("element.get", {{"type", "passport"}})["result"]["front_side"], b64(front));

  // From now on the new token is the vault's token.
  call("lock");
  ASSERT_TRUE(call("unlock", {{"pin", idvault::testing::kDefaultPin}}).contains("result"));
  EXPECT_EQ(call("element.get", {{"type", "passport"}})["result"]["data"]["document_no"], "R1");
}

TEST_F(AgentTest, RecoveryNeedsAVaultMadeWithIt) {
  start();
  init();
  json answer = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                 {"recovery_password", "correct horse battery"}});
  EXPECT_EQ(answer["error"]["code"], -32009);
  EXPECT_NE(answer["error"]["message"].get<std::string>().find("without a recovery password"),
            std::string::npos);
}

TEST_F(AgentTest, OnlyAttestationsForThisHolderAndItsElementsAreKept) {
  start();
  std::string holder_key = init()["result"]["identity_key_sha256"];
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  auto provider = vault::SoftwareSigningKey::generate();
  const auto attestation_for = [&](vault::ElementType type, const std::string& holder) {
    vault::AttestationClaims claims;
    claims.element_type = type;
    claims.data_hash = base64_encode(vault::Bytes(32, 7));
    claims.holder_key_sha256 = holder;
    claims.level = vault::AttestationLevel::document;
    claims.issued_at = 1700000000;
    claims.expires_at = 4000000000;
    return json::parse(vault::to_json(vault::sign_attestation(claims, provider)).dump());
  };
  json good = attestation_for(vault::ElementType::personal_details, holder_key);
  EXPECT_EQ(call("attestation.add", {{"attestation", good}})["result"]["element_type"],
            "personal_details");

  json foreign = attestation_for(vault::ElementType::personal_details, std::string(64, 'a'));
  EXPECT_NE(call("attestation.add", {{"attestation", foreign}})["error"]["message"]
                .get<std::string>()
                .find("another holder"),
            std::string::npos);
  json forged = good;
  forged["signed"]["level"] = "biometric";
  EXPECT_NE(call("attestation.add", {{"attestation", forged}})["error"]["message"]
                .get<std::string>()
                .find("signature"),
            std::string::npos);
  json absent = attestation_for(vault::ElementType::passport, holder_key);
  EXPECT_EQ(call("attestation.add", {{"attestation", absent}})["error"]["code"], -32008);
  EXPECT_EQ(
      call("attestation.add", {{"attestation", {{"element_type", "passport"}}}})["error"]["code"],
      -32009);
  EXPECT_EQ(call("attestation.list")["result"].size(), 1u);
}

// Issue 13.3: arrays 200,000 deep in element.put data or in attestation.add overflowed the
// agent's stack (a recursive copy), locked or not. The frame is refused before any method
// sees it, and the agent keeps serving.
TEST_F(AgentTest, DeeplyNestedParamsGetAClearErrorLockedOrUnlocked) {
  start();
  ASSERT_TRUE(init().contains("result"));
  const auto send_deep = [&](const std::string& method, const json& params,
                             const std::string& where) {
    const json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
    Client client(socket_path_);
    client.send(idvault::testing::with_deep_nesting(request, json::json_pointer(where)) + "\n");
    const std::string line = client.read_line();
    return line.empty() ? json() : json::parse(line);
  };
  for (const char* state : {"lock", "unlock"}) {
    ASSERT_TRUE(call(state, {{"pin", idvault::testing::kDefaultPin}}).contains("result")) << state;
    for (const json& answer :
         {send_deep("element.put", {{"type", "personal_details"}, {"data", personal_details()}},
                    "/params/data/first_name"),
          send_deep("attestation.add", {{"attestation", {{"signed", 0}}}},
                    "/params/attestation/signed"),
          send_deep("status", json::object(), "/params/anything")}) {
      EXPECT_EQ(answer.at("error").at("code"), -32700) << state << ": " << answer.dump();
      EXPECT_NE(
          answer.at("error").at("message").get<std::string>().find("nested deeper than 64 levels"),
          std::string::npos)
          << answer.dump();
    }
  }
  EXPECT_EQ(call("status")["result"]["unlocked"], true);
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
}

// Issue 13.20: a client's type or method name came back (and into the CLI's stderr) cut
// but not escaped; now escape sequences and line breaks arrive as \xNN.
TEST_F(AgentTest, NamesAClientPicksAreEscapedInErrors) {
  start();
  ASSERT_TRUE(init().contains("result"));
  const std::string hostile = "\x1b]0;owned\x07\x1b[2J\r\nfake: line";
  for (const json& answer : {call("element.put", {{"type", hostile}, {"data", personal_details()}}),
                             call("element.get", {{"type", hostile}}), call(hostile)}) {
    const std::string message = answer.at("error").at("message");
    EXPECT_EQ(message.find_first_of("\x1b\x07\r\n"), std::string::npos) << answer.dump();
    EXPECT_NE(message.find(R"("\x1b]0;owned\x07\x1b[2J\x0d\x0afake: line")"), std::string::npos)
        << message;
  }
}

namespace {
// A service's error-signing key in memory (the real one signs on the HSM): PS256.
class SoftwareErrorSigner final : public vault::ErrorSigningKey {
 public:
  explicit SoftwareErrorSigner(const vault::SoftwareServiceKey& key) {
    SecretBytes pem = key.private_key_pem();
    BIO* bio = BIO_new_mem_buf(pem.reveal().data(), static_cast<int>(pem.size()));
    key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  }
  ~SoftwareErrorSigner() override { EVP_PKEY_free(key_); }
  SoftwareErrorSigner(const SoftwareErrorSigner&) = delete;
  SoftwareErrorSigner& operator=(const SoftwareErrorSigner&) = delete;
  vault::Bytes sign_pss_sha256(vault::ByteView message) const override {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key_);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
    std::size_t size = 0;
    EVP_DigestSign(ctx, nullptr, &size, message.data(), message.size());
    vault::Bytes signature(size);
    EVP_DigestSign(ctx, signature.data(), &size, message.data(), message.size());
    EVP_MD_CTX_free(ctx);
    signature.resize(size);
    return signature;
  }
  vault::Bytes public_key_spki_der() const override {
    unsigned char* der = nullptr;
    int size = i2d_PUBKEY(key_, &der);
    vault::Bytes out(der, der + size);
    OPENSSL_free(der);
    return out;
  }

 private:
  EVP_PKEY* key_ = nullptr;
};
}  // namespace

TEST_F(AgentTest, OnlyTheServiceASharedWentToMayReportErrorsAboutIt) {
  start();
  init();
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  vault::AuthorizationRequest request;
  request.service_id = "55";
  request.scope_text = "personal_details";
  request.scope = vault::parse_scope(request.scope_text);
  request.public_key_pem = service.public_key_pem();
  request.nonce = "errors-nonce";
  json bundle =
      call("authorize", {{"link", vault::build_authorization_link(
                                      request, vault::LinkFormat::idvault)}})["result"]["bundle"];
  vault::PassportData passport_data = passport_data_of(bundle);
  // A data error names the data hash, which only the service can read from the credentials.
  vault::PassportDecryptor decryptor(service);
  const vault::DecryptedPassport decrypted =
      decryptor.decrypt(passport_data, [](std::string_view) { return std::nullopt; });

  vault::ElementErrorNotice notice;
  notice.nonce = "errors-nonce";
  notice.credentials_hash = passport_data.credentials.hash;
  notice.time = 1700000000;
  vault::PassportElementError error;
  error.source = vault::ErrorSource::data;
  error.type = vault::ElementType::personal_details;
  error.field_name = "first_name";
  error.message = "Name does not match the document";
  error.hashes.push_back(decrypted.find(vault::ElementType::personal_details)->data_hash);
  notice.errors.push_back(error);

  auto intruder = vault::SoftwareServiceKey::generate();
  json forged = json::parse(
      vault::to_json(vault::sign_element_errors(notice, SoftwareErrorSigner(intruder))).dump());
  json refused = call("errors.add", {{"errors", forged}});
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("not signed by the service"),
            std::string::npos)
      << refused.dump();

  vault::ElementErrorNotice stranger = notice;
  stranger.nonce = "some other share";
  json unknown = json::parse(
      vault::to_json(vault::sign_element_errors(stranger, SoftwareErrorSigner(service))).dump());
  EXPECT_EQ(call("errors.add", {{"errors", unknown}})["error"]["code"], -32008);
  EXPECT_TRUE(call("element.list")["result"][0]["errors"].empty());

  json genuine = json::parse(
      vault::to_json(vault::sign_element_errors(notice, SoftwareErrorSigner(service))).dump());
  json kept = call("errors.add", {{"errors", genuine}});
  ASSERT_TRUE(kept.contains("result")) << kept.dump();
  EXPECT_EQ(kept["result"]["service_id"], "55");
  json listed = call("element.list")["result"][0]["errors"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["message"], "Name does not match the document");
}

TEST_F(AgentTest, ServiceErrorsMustNameAnElementOfThatShareByItsOwnHash) {
  start();
  init();
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "X1234567"}, {"expiry_date", ""}}},
                                   {"front_side", b64(scan("front", 500))}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  vault::AuthorizationRequest request;
  request.service_id = "66";
  request.scope_text = "email";  // the service gets the e-mail address only
  request.scope = vault::parse_scope(request.scope_text);
  request.public_key_pem = service.public_key_pem();
  request.nonce = "email-only";
  json bundle =
      call("authorize", {{"link", vault::build_authorization_link(
                                      request, vault::LinkFormat::idvault)}})["result"]["bundle"];
  const vault::PassportData passport_data = passport_data_of(bundle);
  ASSERT_EQ(passport_data.data.size(), 1u);
  const vault::Bytes email_hash = base64_decode(passport_data.data[0].hash.value(), "hash");

  const SoftwareErrorSigner signer(service);
  const auto signed_list = [&](std::vector<vault::PassportElementError> errors) {
    vault::ElementErrorNotice notice;
    notice.nonce = "email-only";
    notice.credentials_hash = passport_data.credentials.hash;
    notice.time = 1700000000;
    notice.errors = std::move(errors);
    return json::parse(vault::to_json(vault::sign_element_errors(notice, signer)).dump());
  };
  const auto error_about = [](vault::ElementType type, const vault::Bytes& hash) {
    vault::PassportElementError error;
    error.source = vault::ErrorSource::unspecified;
    error.type = type;
    error.message = "Please resend";
    error.hashes.push_back(hash);
    return error;
  };
  const auto errors_of = [&](const std::string& type) {
    const json listed = call("element.list")["result"];
    for (const json& summary : listed) {
      if (summary["type"] == type) return summary["errors"].size();
    }
    return std::size_t{0};
  };

  // Signed by the right service, but about a passport it never received; a valid error
  // beside it is not kept either (the list is judged whole).
  json outside =
      call("errors.add",
           {{"errors", signed_list({error_about(vault::ElementType::email, email_hash),
                                    error_about(vault::ElementType::passport, email_hash)})}});
  ASSERT_TRUE(outside.contains("error")) << outside.dump();
  EXPECT_EQ(outside["error"]["code"], -32009);
  EXPECT_EQ(outside["error"]["message"], "errors[1]: the share did not include passport");
  EXPECT_EQ(errors_of("passport"), 0u);
  EXPECT_EQ(errors_of("email"), 0u);

  // About the shared e-mail, but by a hash that is not the one shared.
  json wrong_hash = call(
      "errors.add",
      {{"errors", signed_list({error_about(vault::ElementType::email, vault::Bytes(32, 9))})}});
  ASSERT_TRUE(wrong_hash.contains("error")) << wrong_hash.dump();
  EXPECT_EQ(wrong_hash["error"]["message"],
            "errors[0].element_hash: is not the hash of the email that was shared");
  EXPECT_EQ(errors_of("email"), 0u);

  json kept = call("errors.add",
                   {{"errors", signed_list({error_about(vault::ElementType::email, email_hash)})}});
  ASSERT_TRUE(kept.contains("result")) << kept.dump();
  EXPECT_EQ(kept["result"]["stored"].size(), 1u);
  EXPECT_EQ(errors_of("email"), 1u);
  EXPECT_EQ(errors_of("passport"), 0u);

  // Once the e-mail has changed, an error about the version shared is left out, not kept.
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.net"}}).contains("result"));
  json outdated =
      call("errors.add",
           {{"errors", signed_list({error_about(vault::ElementType::email, email_hash)})}});
  ASSERT_TRUE(outdated.contains("result")) << outdated.dump();
  EXPECT_TRUE(outdated["result"]["stored"].empty());
  EXPECT_EQ(errors_of("email"), 0u);
}

TEST_F(AgentTest, PutWithAttachmentsStoresTheSameAsBase64AndOffersThem) {
  start();
  ASSERT_TRUE(init().contains("result"));
  EXPECT_EQ(call("status")["result"]["attachments"]["methods"],
            json::array({"element.put", "authorize"}));
  const std::string binary =
      scan("ATT-1", 70000) + std::string("\n\0\r\n", 4);  // newlines and NUL are just bytes
  const std::string second = scan("ATT-2", 33);
  json answer =
      put_attached("utility_bill", {binary, second}, {{"translation", {b64(scan("tr", 50))}}});
  ASSERT_TRUE(answer.contains("result")) << answer.dump();
  json got = call("element.get", {{"type", "utility_bill"}})["result"];
  EXPECT_EQ(got["files"], json::array({b64(binary), b64(second)}));
  EXPECT_EQ(got["translation"], json::array({b64(scan("tr", 50))}));
  // Shared as stored: the service decrypts the same bytes.
  std::string disk = store_bytes();
  EXPECT_EQ(disk.find("ATT-1"), std::string::npos);
  EXPECT_EQ(disk.find("SCANBYTES"), std::string::npos);
}

TEST_F(AgentTest, PutWithPassedFilesStoresWhatTheFilesHold) {
  start();
  ASSERT_TRUE(init().contains("result"));
  EXPECT_EQ(call("status")["result"]["attachments"]["descriptors"], true);
  // Large enough for the vault's direct-I/O path and two encrypting threads.
  const std::string big = scan("PASSED-1", 3u << 20);
  const std::string small = scan("PASSED-2", 70) + std::string("\n\0", 2);
  std::vector<int> fds;
  for (const auto* contents : {&big, &small}) {
    const fs::path path = dir_ / ("passed-" + std::to_string(fds.size()));
    std::ofstream(path, std::ios::binary) << *contents;
    fds.push_back(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
  Client client(socket_path_);
  client.send_passing(
      R"({"jsonrpc":"2.0","id":1,"method":"element.put","attachments":["fd",5,"fd"],)"
      R"("params":{"type":"utility_bill","files":[{"attachment":0},{"attachment":2}],)"
      R"("translation":[{"attachment":1}]}})"
      "\nBYTES",
      fds);
  for (int fd : fds) ::close(fd);  // the agent holds its own copies until it has read them
  json answer = json::parse(client.read_line());
  ASSERT_TRUE(answer.contains("result")) << answer.dump();
  json got = call("element.get", {{"type", "utility_bill"}})["result"];
  EXPECT_EQ(got["files"], json::array({b64(big), b64(small)}));
  EXPECT_EQ(got["translation"], json::array({b64("BYTES")}));
  std::string disk = store_bytes();
  EXPECT_EQ(disk.find("PASSED-1"), std::string::npos);
  EXPECT_EQ(disk.find("PASSED-2"), std::string::npos);

  // A passed pipe stores nothing and replaces nothing.
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
  client.send_passing(R"({"jsonrpc":"2.0","id":2,"method":"element.put","attachments":["fd"],)"
                      R"("params":{"type":"utility_bill","files":[{"attachment":0}]}})"
                      "\n",
                      {pipe_ends[0]});
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
  json refused = json::parse(client.read_line());
  EXPECT_EQ(refused["error"]["code"], -32602) << refused.dump();
  EXPECT_EQ(call("element.get", {{"type", "utility_bill"}})["result"]["files"],
            json::array({b64(big), b64(small)}));
}

TEST_F(AgentTest, PutWithProgressNotifiesThisClientBeforeTheAnswer) {
  start();
  ASSERT_TRUE(init().contains("result"));
  Client bystander(socket_path_);
  ASSERT_TRUE(bystander.call("status").contains("result"));
  const std::vector<std::string> files = {scan("P-1", 600000), scan("P-2", 300000)};
  const std::string translation = scan("P-3", 1000);
  Client client(socket_path_);
  client.send(json{{"jsonrpc", "2.0"},
                   {"id", 9},
                   {"method", "element.put"},
                   {"params",
                    {{"type", "utility_bill"},
                     {"progress", true},
                     {"files", {b64(files[0]), b64(files[1])}},
                     {"translation", {b64(translation)}}}}}
                  .dump() +
              "\n");
  const std::uint64_t total = files[0].size() + files[1].size() + translation.size();
  std::vector<std::uint64_t> reported;
  json answer;
  for (;;) {
    const std::string line = client.read_line();
    ASSERT_FALSE(line.empty()) << "no answer";
    json message = json::parse(line);
    if (message.contains("id")) {
      answer = message;
      break;
    }
    EXPECT_EQ(message["method"], "element.put.progress") << line;
    EXPECT_EQ(message["params"]["total"], total);
    reported.push_back(message["params"]["done"].get<std::uint64_t>());
  }
  EXPECT_EQ(answer["id"], 9);
  ASSERT_TRUE(answer.contains("result")) << answer.dump();
  ASSERT_EQ(reported.size(), 3u);  // one per file, counts only growing, the last the whole
  EXPECT_LT(reported[0], reported[1]);
  EXPECT_LT(reported[1], reported[2]);
  EXPECT_EQ(reported[2], total);
  // Nobody else heard it, and without "progress" nothing comes before the answer.
  EXPECT_EQ(bystander.read_line(200), "");
  json quiet = put_attached("utility_bill", {files[1]});
  EXPECT_TRUE(quiet.contains("result")) << quiet.dump();
}

TEST_F(AgentTest, AnUnreferencedAttachmentStoresNothing) {
  start();
  ASSERT_TRUE(init().contains("result"));
  Client client(socket_path_);
  client.send(R"({"jsonrpc":"2.0","id":1,"method":"element.put","attachments":[5,3],)"
              R"("params":{"type":"utility_bill","files":[{"attachment":1}]}})"
              "\nAAAAABBB");
  json answer = json::parse(client.read_line());
  EXPECT_EQ(answer["error"]["code"], -32602) << answer.dump();
  EXPECT_EQ(call("element.list")["result"].size(), 0u);
  EXPECT_EQ(call("element.get", {{"type", "utility_bill"}})["error"]["code"], -32008);
}

// --- recovery material and the receipt log are not trusted from the store (issue 13) ---

namespace {

json recovery_setting(const fs::path& db) {
  vault::SqliteDatabase raw(db, false);
  auto statement = raw.prepare("SELECT value FROM settings WHERE name = 'recovery'");
  EXPECT_TRUE(statement.step());
  vault::Bytes value = statement.blob(0);
  return json::parse(value.begin(), value.end());
}

void write_recovery_setting(const fs::path& db, const json& envelope) {
  vault::SqliteDatabase raw(db, false);
  const std::string text = envelope.dump();
  raw.prepare("UPDATE settings SET value = ? WHERE name = 'recovery'")
      .bind_blob(1, vault::Bytes(text.begin(), text.end()))
      .run();
}

std::string other_rsa_public_key_pem() {
  openssl::PKey key(EVP_RSA_gen(3072));
  auto bio = openssl::make_memory_bio();
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// How many key objects the token holds, counted by OpenSC's pkcs11-tool in a process of
// its own (this one has the module loaded for the agent): keys a failed recovery left.
std::size_t objects_on(const std::string& label) {
  const std::string command =
      "pkcs11-tool --module '" + idvault::testing::softhsm_module_path().string() +
      "' --token-label " + label + " --login --pin " + idvault::testing::kDefaultPin +
      " --list-objects 2>/dev/null | grep -c 'Key Object'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  std::size_t count = 0;
  if (std::fscanf(pipe, "%zu", &count) != 1) count = 0;
  ::pclose(pipe);
  return count;
}

}  // namespace

TEST_F(AgentTest, ARecoveryKeyNotSignedByTheIdentityKeyIsNeverSealedTo) {
  start();
  ASSERT_TRUE(call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  call("lock");
  json envelope = recovery_setting(dir_ / "data" / "vault.db");
  envelope["public_key"] = other_rsa_public_key_pem();  // the attacker's
  write_recovery_setting(dir_ / "data" / "vault.db", envelope);
  ASSERT_TRUE(call("unlock", {{"pin", idvault::testing::kDefaultPin}}).contains("result"));
  json put = call("element.put", {{"type", "address"},
                                  {"data",
                                   {{"street_line1", "1 Main St"},
                                    {"street_line2", ""},
                                    {"city", "London"},
                                    {"state", ""},
                                    {"country_code", "GB"},
                                    {"post_code", "N1"}}}});
  ASSERT_TRUE(put.contains("error")) << put.dump();
  EXPECT_NE(
      put["error"]["message"].get<std::string>().find("not signed by this vault's identity key"),
      std::string::npos)
      << put.dump();
  EXPECT_NE(put["error"]["message"].get<std::string>().find("idvault recovery add"),
            std::string::npos);
  EXPECT_EQ(call("element.get", {{"type", "address"}})["error"]["code"], -32008);

  // Adding recovery again (a new key, signed) repairs it; every value is sealed to it.
  json added = call("recovery.add", {{"recovery_password", "another horse battery"}});
  ASSERT_TRUE(added.contains("result")) << added.dump();
  EXPECT_EQ(added["result"]["replaced"], true);
  EXPECT_EQ(added["result"]["secrets"], 0);  // email is sent in clear: no secret
  EXPECT_TRUE(call("element.put", {{"type", "address"},
                                   {"data",
                                    {{"street_line1", "1 Main St"},
                                     {"street_line2", ""},
                                     {"city", "London"},
                                     {"state", ""},
                                     {"country_code", "GB"},
                                     {"post_code", "N1"}}}})
                  .contains("result"));
}

TEST_F(AgentTest, RecoveryAddSealsAnExistingVaultThatRecoverThenMoves) {
  start();
  init();  // no recovery password
  const std::string front = scan("late-front", 5000);
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "L1"}, {"expiry_date", ""}}},
                                   {"front_side", b64(front)}})
                  .contains("result"));
  EXPECT_EQ(call("recovery.add", {{"recovery_password", "short"}})["error"]["code"], -32009);
  json added = call("recovery.add", {{"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(added.contains("result")) << added.dump();
  EXPECT_EQ(added["result"]["replaced"], false);
  EXPECT_EQ(added["result"]["secrets"], 2);
  stop();
  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.token_uri = "pkcs11:token=spare";
  start(config);
  json recovered = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                    {"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(recovered.contains("result")) << recovered.dump();
  EXPECT_EQ(call("element.get", {{"type", "passport"}})["result"]["front_side"], b64(front));
}

TEST_F(AgentTest, RecoverRefusesSwappedOrPlantedSealsAndChangesNothing) {
  start();
  ASSERT_TRUE(call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  ASSERT_TRUE(call("element.put", {{"type", "passport"},
                                   {"data", {{"document_no", "R1"}, {"expiry_date", ""}}},
                                   {"front_side", b64(scan("swap-front", 3000))}})
                  .contains("result"));
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
  stop();
  const fs::path db = dir_ / "data" / "vault.db";
  vault::Bytes original;
  {
    // The passport's data seal now holds personal_details' secret.
    vault::SqliteDatabase raw(db, false);
    auto read =
        raw.prepare("SELECT recovery_sealed_data_secret FROM elements WHERE type = 'passport'");
    ASSERT_TRUE(read.step());
    original = read.blob(0);
    raw.execute(
        "UPDATE elements SET recovery_sealed_data_secret = (SELECT recovery_sealed_data_secret "
        "FROM elements "
        "WHERE type = 'personal_details') WHERE type = 'passport'");
  }
  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.token_uri = "pkcs11:token=spare";
  start(config);
  const std::size_t objects_before = objects_on("spare");
  json refused = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                  {"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(refused.contains("error")) << refused.dump();
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("passport.data"), std::string::npos)
      << refused.dump();
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("nothing was recovered"),
            std::string::npos);
  // Nothing moved: the vault still names the lost token, and the spare holds no keys
  // from the attempt.
  EXPECT_NE(call("unlock", {{"pin", idvault::testing::kDefaultPin}})["error"]["message"]
                .get<std::string>()
                .find("belongs to token 'holder'"),
            std::string::npos);
  EXPECT_EQ(objects_on("spare"), objects_before);

  // A seal made by someone who knows only the public key, for a secret of their own.
  {
    json envelope = recovery_setting(db);
    vault::RecoverySealer attacker(envelope["public_key"].get<std::string>());
    vault::Bytes planted =
        attacker.seal(SecretBytes(32), vault::recovery_seal_label("passport", "data", ""));
    vault::SqliteDatabase raw(db, false);
    raw.prepare("UPDATE elements SET recovery_sealed_data_secret = ? WHERE type = 'passport'")
        .bind_blob(1, planted)
        .run();
  }
  json planted = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                  {"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(planted.contains("error")) << planted.dump();
  EXPECT_EQ(objects_on("spare"), objects_before);

  // The genuine seal back: recovery works, once.
  {
    vault::SqliteDatabase raw(db, false);
    raw.prepare("UPDATE elements SET recovery_sealed_data_secret = ? WHERE type = 'passport'")
        .bind_blob(1, original)
        .run();
  }
  json recovered = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                    {"recovery_password", "correct horse battery"}});
  ASSERT_TRUE(recovered.contains("result")) << recovered.dump();
  EXPECT_EQ(call("element.get", {{"type", "passport"}})["result"]["data"]["document_no"], "R1");
}

TEST_F(AgentTest, StoredArgon2ParametersOutOfBoundsAreRefused) {
  start();
  ASSERT_TRUE(call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  stop();
  const fs::path db = dir_ / "data" / "vault.db";
  const json genuine = recovery_setting(db);
  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.token_uri = "pkcs11:token=spare";
  start(config);
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::uint64_t>>{{"t_cost", 1},
                                                          {"t_cost", 1000},
                                                          {"m_cost_kib", 8},
                                                          {"m_cost_kib", 64ull * 1024 * 1024},
                                                          {"parallelism", 64}}) {
    json edited = genuine;
    edited[name] = value;
    write_recovery_setting(db, edited);
    json answer = call("recover", {{"pin", idvault::testing::kDefaultPin},
                                   {"recovery_password", "correct horse battery"}});
    ASSERT_TRUE(answer.contains("error")) << name << " " << value;
    // Stops at the first miss: an unchecked ceiling would make the next case run for minutes.
    ASSERT_NE(answer["error"]["message"].get<std::string>().find("recovery." + name +
                                                                 ": must be between"),
              std::string::npos)
        << answer.dump();
  }
}

TEST_F(AgentTest, SharesVerifyPinsTheIdentityKeyOnTheToken) {
  start();
  ASSERT_TRUE(call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  for (const char* nonce : {"one", "two"}) {
    ASSERT_TRUE(
        call("authorize", {{"link", link_to(service, "7", "email", nonce)}}).contains("result"));
  }
  json shares = call("shares", {{"verify", true}})["result"];
  EXPECT_EQ(shares["verified"]["valid"], true) << shares.dump();
  ASSERT_TRUE(shares.contains("identity_key_sha256"));
  const fs::path db = dir_ / "data" / "vault.db";

  // The whole log re-signed, chained and all, by another P-256 key.
  auto forger = vault::SoftwareSigningKey::generate();
  {
    vault::SqliteDatabase raw(db, false);
    std::vector<std::pair<std::int64_t, std::string>> rows;
    auto read = raw.prepare("SELECT sequence, receipt FROM receipts ORDER BY sequence");
    while (read.step()) rows.emplace_back(read.integer(0), read.text(1));
    std::string previous(64, '0');
    for (auto& [sequence, text] : rows) {
      vault::ShareReceipt receipt = vault::receipt_from_json(json::parse(text));
      receipt.fields.previous = previous;
      receipt.fields.service_id = "edited";
      vault::ShareReceipt forged = vault::sign_receipt(receipt.fields, forger);
      const std::string entry = vault::receipt_entry_hash(forged);
      raw.prepare(
             "UPDATE receipts SET receipt = ?, previous_hash = ?, entry_hash = ? WHERE sequence = "
             "?")
          .bind(1, vault::to_json(forged).dump())
          .bind_blob(2, vault::Bytes(previous.begin(), previous.end()))
          .bind_blob(3, vault::Bytes(entry.begin(), entry.end()))
          .bind(4, sequence)
          .run();
      previous = entry;
    }
  }
  json forged = call("shares", {{"verify", true}})["result"]["verified"];
  EXPECT_EQ(forged["valid"], false) << forged.dump();
  EXPECT_EQ(forged["first_bad_sequence"], 1);
  EXPECT_EQ(forged["reason"],
            "signed by a key that is neither this vault's identity key nor a device key of the "
            "account");

  // Verifying needs the key from the token.
  call("lock");
  EXPECT_EQ(call("shares", {{"verify", true}})["error"]["code"], -32003);
}

TEST_F(AgentTest, ReceiptsFromBeforeARecoveryStillVerifyAfterIt) {
  start();
  ASSERT_TRUE(call("init", {{"pin", idvault::testing::kDefaultPin},
                            {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  ASSERT_TRUE(
      call("element.put", {{"type", "email"}, {"value", "ada@example.org"}}).contains("result"));
  auto service = vault::SoftwareServiceKey::generate();
  ASSERT_TRUE(
      call("authorize", {{"link", link_to(service, "7", "email", "before")}}).contains("result"));
  stop();
  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.token_uri = "pkcs11:token=spare";
  start(config);
  ASSERT_TRUE(call("recover", {{"pin", idvault::testing::kDefaultPin},
                               {"recovery_password", "correct horse battery"}})
                  .contains("result"));
  ASSERT_TRUE(
      call("authorize", {{"link", link_to(service, "7", "email", "after")}}).contains("result"));
  json verified = call("shares", {{"verify", true}})["result"]["verified"];
  EXPECT_EQ(verified["valid"], true) << verified.dump();
  EXPECT_EQ(verified["count"], 2);
  EXPECT_EQ(verified["identity_keys"], 2);
  // And the envelope is signed by the new key: puts still seal to it.
  ASSERT_TRUE(call("element.put", {{"type", "personal_details"}, {"data", personal_details()}})
                  .contains("result"));
}
