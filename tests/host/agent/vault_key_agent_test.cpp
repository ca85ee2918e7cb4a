// The device side of a cloud account's vault key VK (holder_keys.h, holder_agent.h): a new
// vault has VK from init; an older vault adopts VK (every value secret re-wrapped, no
// file touched); both unlock from their key slot, and a joining device opens VK from a
// slot another device sealed to it. On throwaway SoftHSM2 tokens, in both key modes;
// each test is its own process.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "common/base64.h"
#include "host/agent/element_json.h"
#include "host/agent/holder_agent.h"
#include "host/agent/holder_keys.h"
#include "host/rpc/json_rpc.h"
#include "pkcs11/login.h"
#include "pkcs11/module.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"
#include "vault/account/vault_key.h"
#include "vault/keys/software_keys.h"
#include "vault/store/holder_vault.h"

using namespace idvault;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string b64(std::string_view text) {
  return base64_encode(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::string scan(std::string_view tag, std::size_t size) {
  std::string bytes = "\xff\xd8\xff\xe0JFIF-" + std::string(tag) + "-";
  while (bytes.size() < size) bytes += "SCANBYTES-" + std::string(tag) + "-";
  bytes.resize(size);
  return bytes;
}

// Three elements: one with data only, one with data and two files, one plain value. Four
// value secrets (the plain value has none).
std::vector<json> elements() {
  return {{{"type", "personal_details"},
           {"data",
            {{"first_name", "Ada"},
             {"last_name", "Lovelace"},
             {"birth_date", "10.12.1815"},
             {"gender", "female"},
             {"country_code", "GB"},
             {"residence_country_code", "GB"}}}},
          {{"type", "passport"},
           {"data", {{"document_no", "X1234567"}, {"expiry_date", ""}}},
           {"front_side", b64(scan("front", 9000))},
           {"selfie", b64(scan("selfie", 3000))}},
          {{"type", "email"}, {"value", "ada@example.org"}}};
}
constexpr std::size_t kSecrets = 4;

// Every file beside the store (the packs), with its bytes and its modification time.
std::map<std::string, std::pair<std::string, std::int64_t>> packs(const fs::path& store) {
  std::map<std::string, std::pair<std::string, std::int64_t>> all;
  for (const auto& entry : fs::directory_iterator(store.string() + ".files")) {
    std::ifstream file(entry.path(), std::ios::binary);
    struct stat info {};
    EXPECT_EQ(::stat(entry.path().c_str(), &info), 0);
    all[entry.path().filename().string()] = {
        std::string(std::istreambuf_iterator<char>(file), {}),
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec};
  }
  return all;
}

// What the vault holds, read with key: every element as the socket API shows it.
json contents(vault::VaultStore& store, const vault::MasterKey& key) {
  vault::HolderVault vault(store, key);
  json all = json::object();
  for (const json& element : elements()) {
    const auto type = *vault::parse_element_type(element["type"].get<std::string>());
    auto got = vault.get(type);
    all[element["type"].get<std::string>()] = got ? agent::element_to_json(*got) : json();
  }
  return all;
}

// Every wrapped secret as the store holds it.
std::vector<vault::Bytes> wrapped_secrets(vault::VaultStore& store) {
  std::vector<vault::Bytes> all;
  for (const auto& element : store.elements(false)) {
    all.push_back(element.wrapped_data_secret);
    for (const auto& file : element.files) all.push_back(file.wrapped_secret);
  }
  return all;
}

void put_all(vault::VaultStore& store, const vault::MasterKey& key) {
  vault::HolderVault vault(store, key);
  for (const json& element : elements()) vault.put(agent::element_from_params(element));
}

// ---- rewrap_secrets, with software keys ---------------------------------------------------

// Wraps like the key it stands for until its nth call, which throws: a process killed in
// the middle of a re-wrap.
class FailingKey final : public vault::MasterKey {
 public:
  FailingKey(const vault::MasterKey& key, int fail_at) : key_(key), left_(fail_at) {}
  [[nodiscard]] vault::Bytes wrap(const SecretBytes& secret) const override {
    if (--left_ == 0) throw std::runtime_error("killed half way");
    return key_.wrap(secret);
  }
  [[nodiscard]] SecretBytes unwrap(vault::ByteView wrapped) const override {
    return key_.unwrap(wrapped);
  }

 private:
  const vault::MasterKey& key_;
  mutable int left_;
};

TEST(RewrapSecretsTest, EverySecretMovesInOneTransactionAndNoFileIsTouched) {
  idvault::testing::TempDir dir{"idvault-rewrap"};
  const fs::path path = dir / "vault.db";
  auto store = vault::VaultStore::open(path, true);
  const auto from = vault::SoftwareMasterKey::generate();
  const auto to = vault::SoftwareMasterKey::generate();
  put_all(*store, from);
  const json before = contents(*store, from);
  const auto files_before = packs(path);
  ASSERT_FALSE(files_before.empty());

  // Killed at each secret in turn: every element still opens with the old key, and the
  // settings that go with the re-wrap were not written.
  for (int nth = 1; nth <= static_cast<int>(kSecrets); ++nth) {
    const FailingKey failing(to, nth);
    EXPECT_THROW((void)vault::rewrap_secrets(*store, from, failing, {{"moved", {1}}}, {"kept"}),
                 std::runtime_error);
    EXPECT_EQ(contents(*store, from), before) << "failed at secret " << nth;
    EXPECT_FALSE(store->setting("moved"));
  }
  // A key that opens none of them: a clear error naming the element, nothing written.
  const auto stranger = vault::SoftwareMasterKey::generate();
  try {
    (void)vault::rewrap_secrets(*store, stranger, to);
    ADD_FAILURE() << "re-wrapped with a key that opens nothing";
  } catch (const FormatError& error) {
    EXPECT_NE(std::string(error.what()).find("personal_details.data"), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(contents(*store, from), before);

  store->put_setting("kept", vault::Bytes{7});
  EXPECT_EQ(vault::rewrap_secrets(*store, from, to, {{"moved", {1}}}, {"kept"}), kSecrets);
  EXPECT_EQ(contents(*store, to), before);
  EXPECT_TRUE(store->setting("moved"));
  EXPECT_FALSE(store->setting("kept"));
  EXPECT_THROW((void)vault::HolderVault(*store, from).get(vault::ElementType::passport),
               std::runtime_error);
  EXPECT_EQ(packs(path), files_before);  // the same bytes and modification times
}

// ---- holder_keys on a token ---------------------------------------------------------------

// Two devices' tokens in one SoftHSM environment: the desk has the vault, the laptop joins.
class HolderVaultKeyTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmEnvironment env;
  std::shared_ptr<p11::Module> module = load_module();
  std::shared_ptr<p11::Token> desk =
      p11::resolve_token(module, p11::Uri::parse("pkcs11:token=desk"));
  p11::Login desk_login = p11::Login::open(desk, SecretBytes::from_string("1234"));
  idvault::testing::TempDir dir{"idvault-vk"};
  fs::path path = dir / "desk.db";
  std::unique_ptr<vault::VaultStore> store = vault::VaultStore::open(path, true);

  // A vault as init makes it (VK from the start), or as it was made before (legacy).
  agent::HolderKeys init(bool asymmetric, bool legacy = true) {
    agent::HolderKeys keys = agent::create_holder_keys(
        desk, asymmetric, {}, legacy ? agent::Hierarchy::master_key : agent::Hierarchy::vault_key);
    store->put_settings(keys.settings);
    keys.made_objects.clear();
    put_all(*store, *keys.master_key);
    return keys;
  }
  std::size_t objects_labelled(CK_OBJECT_CLASS object_class, const std::string& label) {
    std::string text = label;
    CK_ATTRIBUTE search[] = {{CKA_CLASS, &object_class, sizeof(object_class)},
                             {CKA_LABEL, text.data(), static_cast<CK_ULONG>(text.size())}};
    return p11::find_objects(desk, search).size();
  }

 private:
  std::shared_ptr<p11::Module> load_module() {
    env.add_token("desk");
    env.add_token("laptop");
    return p11::Module::load(idvault::testing::softhsm_module_path());
  }
};

// A new vault: VK from the start, sealed to its slot key, and nothing for adoption to do.
void has_vault_key_from_init(agent::HolderKeys& keys, vault::VaultStore& store,
                             const fs::path& path, const std::shared_ptr<p11::Token>& desk) {
  ASSERT_NE(keys.vault_key, nullptr);
  EXPECT_EQ(keys.master_key.get(), keys.vault_key);
  EXPECT_EQ(keys.slot_public_key_spki_der.size(), 294u);  // RSA-2048 SPKI
  EXPECT_TRUE(agent::vault_key_adopted(store));
  EXPECT_TRUE(store.setting("vault_key_slot"));
  for (const char* name : {"master_key_uri", "card_key_uri", "sealed_vault_key"})
    EXPECT_FALSE(store.setting(name)) << name;
  const json before = contents(store, *keys.master_key);
  const auto secrets_before = wrapped_secrets(store);
  const auto files_before = packs(path);
  EXPECT_THROW((void)agent::adopt_vault_key(desk, store, keys), std::runtime_error);
  EXPECT_EQ(wrapped_secrets(store), secrets_before);

  agent::HolderKeys reopened = agent::open_holder_keys(desk, store);
  EXPECT_EQ(reopened.slot_public_key_spki_der, keys.slot_public_key_spki_der);
  EXPECT_EQ(contents(store, *reopened.master_key), before);
  EXPECT_EQ(packs(path), files_before);
}

TEST_F(HolderVaultKeyTest, ANewVaultOnAnAesTokenHasItsVaultKeyAsASessionObjectFromInit) {
  agent::HolderKeys keys = init(false, false);
  ASSERT_EQ(keys.mode, agent::KeyMode::token_aes);
  auto* on_token = dynamic_cast<vault::TokenVaultKey*>(keys.vault_key);
  ASSERT_NE(on_token, nullptr);
  EXPECT_FALSE(on_token->object().flag(CKA_TOKEN));
  EXPECT_TRUE(on_token->object().flag(CKA_SENSITIVE));
  EXPECT_EQ(objects_labelled(CKO_SECRET_KEY, "idvault-master"), 0u);  // no master key made
  EXPECT_EQ(objects_labelled(CKO_PRIVATE_KEY, "idvault-slot"), 1u);
  has_vault_key_from_init(keys, *store, path, desk);
}

TEST_F(HolderVaultKeyTest, ANewVaultInAsymmetricModeHasItsVaultKeySealedToTheCardKey) {
  agent::HolderKeys keys = init(true, false);
  ASSERT_EQ(keys.mode, agent::KeyMode::asymmetric);
  ASSERT_NE(dynamic_cast<vault::MemoryVaultKey*>(keys.vault_key), nullptr);
  EXPECT_EQ(objects_labelled(CKO_PRIVATE_KEY, "idvault-vault-key"), 1u);  // the card key
  has_vault_key_from_init(keys, *store, path, desk);
}

TEST_F(HolderVaultKeyTest, AesTokenAdoptsVaultKeyAsSessionObjectAndDropsTheMasterKey) {
  agent::HolderKeys keys = init(false);
  ASSERT_EQ(keys.mode, agent::KeyMode::token_aes);
  const json before = contents(*store, *keys.master_key);
  const auto files_before = packs(path);
  ASSERT_EQ(objects_labelled(CKO_SECRET_KEY, "idvault-master"), 1u);

  EXPECT_EQ(agent::adopt_vault_key(desk, *store, keys), kSecrets);
  ASSERT_NE(keys.vault_key, nullptr);
  EXPECT_EQ(keys.master_key.get(), keys.vault_key);
  auto* on_token = dynamic_cast<vault::TokenVaultKey*>(keys.vault_key);
  ASSERT_NE(on_token, nullptr);
  EXPECT_FALSE(on_token->object().flag(CKA_TOKEN));
  EXPECT_TRUE(on_token->object().flag(CKA_SENSITIVE));
  EXPECT_EQ(keys.slot_public_key_spki_der.size(), 294u);  // RSA-2048 SPKI
  EXPECT_EQ(contents(*store, *keys.master_key), before);
  EXPECT_EQ(packs(path), files_before);
  // The master key is gone from the token and from the store, retired record and all.
  EXPECT_EQ(objects_labelled(CKO_SECRET_KEY, "idvault-master"), 0u);
  EXPECT_FALSE(store->setting("master_key_uri"));
  EXPECT_FALSE(store->setting("retired_master_key_uri"));
  EXPECT_TRUE(agent::vault_key_adopted(*store));
  EXPECT_THROW((void)agent::adopt_vault_key(desk, *store, keys), std::runtime_error);

  // Unlocking again opens VK from the slot in the store.
  agent::HolderKeys reopened = agent::open_holder_keys(desk, *store);
  ASSERT_NE(dynamic_cast<vault::TokenVaultKey*>(reopened.vault_key), nullptr);
  EXPECT_EQ(reopened.slot_public_key_spki_der, keys.slot_public_key_spki_der);
  EXPECT_EQ(contents(*store, *reopened.master_key), before);
}

TEST_F(HolderVaultKeyTest, AFailedAdoptionLeavesTheVaultAndTheTokenAsTheyWere) {
  agent::HolderKeys keys = init(false);
  // One file's wrapped secret damaged: the re-wrap stops there, after the others moved
  // in memory.
  auto passport = store->element(vault::ElementType::passport, false);
  ASSERT_TRUE(passport);
  passport->files.back().wrapped_secret[9] ^= 1;
  store->replace_secrets({{*passport}, {}, {}});
  const auto before = wrapped_secrets(*store);

  EXPECT_THROW((void)agent::adopt_vault_key(desk, *store, keys), FormatError);
  EXPECT_EQ(keys.vault_key, nullptr);
  EXPECT_FALSE(agent::vault_key_adopted(*store));
  EXPECT_TRUE(store->setting("master_key_uri"));
  EXPECT_FALSE(store->setting("vault_key_slot"));
  EXPECT_EQ(objects_labelled(CKO_SECRET_KEY, "idvault-master"), 1u);
  EXPECT_EQ(objects_labelled(CKO_PRIVATE_KEY, "idvault-slot"), 0u);  // the slot key made
  EXPECT_EQ(objects_labelled(CKO_PUBLIC_KEY, "idvault-slot"), 0u);   // for it is gone
  EXPECT_EQ(wrapped_secrets(*store), before);
  auto reopened = agent::open_holder_keys(desk, *store);
  EXPECT_TRUE(vault::HolderVault(*store, *reopened.master_key).get(vault::ElementType::email));
  EXPECT_TRUE(
      vault::HolderVault(*store, *reopened.master_key).get(vault::ElementType::personal_details));
}

TEST_F(HolderVaultKeyTest, AsymmetricModeSealsVaultKeyToTheCardKeyAndKeepsIt) {
  agent::HolderKeys keys = init(true);
  ASSERT_EQ(keys.mode, agent::KeyMode::asymmetric);
  const json before = contents(*store, *keys.master_key);
  const auto files_before = packs(path);
  const vault::Bytes card_key_uri = *store->setting("card_key_uri");

  EXPECT_EQ(agent::adopt_vault_key(desk, *store, keys), kSecrets);
  ASSERT_NE(dynamic_cast<vault::MemoryVaultKey*>(keys.vault_key), nullptr);
  EXPECT_EQ(*store->setting("slot_key_uri"), card_key_uri);  // the card's own key
  EXPECT_EQ(objects_labelled(CKO_PRIVATE_KEY, "idvault-vault-key"), 1u);
  EXPECT_FALSE(store->setting("sealed_vault_key"));
  EXPECT_EQ(contents(*store, *keys.master_key), before);
  EXPECT_EQ(packs(path), files_before);

  agent::HolderKeys reopened = agent::open_holder_keys(desk, *store);
  ASSERT_NE(dynamic_cast<vault::MemoryVaultKey*>(reopened.vault_key), nullptr);
  EXPECT_EQ(contents(*store, *reopened.master_key), before);
}

TEST_F(HolderVaultKeyTest, AJoiningDeviceOpensTheSlotAnotherDeviceSealedToIt) {
  agent::HolderKeys keys = init(false);
  (void)agent::adopt_vault_key(desk, *store, keys);

  auto laptop = p11::resolve_token(module, p11::Uri::parse("pkcs11:token=laptop"));
  p11::Login laptop_login = p11::Login::open(laptop, SecretBytes::from_string("1234"));
  auto joining = vault::VaultStore::open(dir / "laptop.db", true);
  const agent::JoiningDevice device = agent::prepare_join(laptop, *joining, false);
  EXPECT_EQ(device.mode, agent::KeyMode::token_aes);
  EXPECT_FALSE(agent::vault_initialised(*joining));
  // Asked again (a join still waiting for approval): the same keys, none made anew.
  const agent::JoiningDevice again = agent::prepare_join(laptop, *joining, false);
  EXPECT_EQ(again.slot_public_key_spki_der, device.slot_public_key_spki_der);
  EXPECT_EQ(again.identity_key_spki_der, device.identity_key_spki_der);

  vault::Bytes sealed = keys.vault_key->seal_to(device.slot_public_key_spki_der);
  vault::Bytes altered = sealed;
  altered[17] ^= 1;
  EXPECT_THROW((void)agent::complete_join(laptop, *joining, altered), vault::SlotError);
  EXPECT_FALSE(agent::vault_initialised(*joining));
  EXPECT_THROW((void)agent::complete_join(desk, *joining, sealed), std::runtime_error);

  agent::HolderKeys joined = agent::complete_join(laptop, *joining, sealed);
  EXPECT_TRUE(agent::vault_initialised(*joining));
  EXPECT_TRUE(agent::vault_key_adopted(*joining));
  const SecretBytes secret(vault::Bytes(32, 0x5a));
  EXPECT_TRUE(joined.master_key->unwrap(keys.master_key->wrap(secret)).equals(secret.reveal()));
  EXPECT_TRUE(keys.master_key->unwrap(joined.master_key->wrap(secret)).equals(secret.reveal()));
  // And the laptop unlocks on its own from then on.
  agent::HolderKeys unlocked = agent::open_holder_keys(laptop, *joining);
  EXPECT_TRUE(unlocked.master_key->unwrap(keys.master_key->wrap(secret)).equals(secret.reveal()));
}

// ---- the agent ----------------------------------------------------------------------------

class AgentVaultKeyTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken token_{"holder"};
  idvault::testing::TempDir dir_{"idvault-agent-vk"};
  fs::path store_path_ = dir_ / "data" / "vault.db";
  std::unique_ptr<agent::HolderAgent> agent_;

  void start(bool asymmetric, bool legacy = false) {
    agent::AgentConfig config;
    config.init_without_vault_key = legacy;
    config.store_path = store_path_;
    config.module_path = idvault::testing::softhsm_module_path();
    config.token_uri = token_.uri();
    config.force_asymmetric = asymmetric;
    agent_ = std::make_unique<agent::HolderAgent>(config);
  }
  SecretBytes pin() { return token_.pin(); }
  void put_all_through_agent() {
    for (const json& element : elements()) agent_->put(agent::element_from_params(element));
  }
  json got() {
    json all = json::object();
    for (const json& element : elements()) {
      const std::string type = element["type"];
      all[type] = agent_->get(*vault::parse_element_type(type));
    }
    return all;
  }
  void adopts_and_unlocks_again(bool asymmetric) {
    start(asymmetric, true);
    (void)agent_->init(pin(), false, std::nullopt);
    put_all_through_agent();
    const json before = got();
    const auto files_before = packs(store_path_);
    EXPECT_THROW(agent_->with_cloud_keys([](const auto&) {}), rpc::RpcError);

    const json adopted = agent_->adopt_vault_key();
    EXPECT_EQ(adopted["secrets"], kSecrets);
    EXPECT_EQ(adopted["mode"], asymmetric ? "asymmetric" : "token_aes");
    EXPECT_EQ(got(), before);
    EXPECT_THROW((void)agent_->adopt_vault_key(), rpc::RpcError);

    (void)agent_->lock(agent::LockReason::requested);
    EXPECT_THROW(agent_->with_cloud_keys([](const auto&) {}), rpc::RpcError);
    EXPECT_EQ(agent_->unlock(pin(), false)["unlocked"], true);
    EXPECT_EQ(got(), before);
    vault::Bytes slot_key;
    agent_->with_cloud_keys([&](const agent::HolderAgent::CloudKeys& keys) {
      slot_key = keys.slot_public_key_spki_der;
      EXPECT_TRUE(keys.store.setting("vault_key_slot").has_value());
    });
    EXPECT_EQ(vault::key_fingerprint(slot_key), adopted["slot_key_sha256"]);
    EXPECT_EQ(packs(store_path_), files_before);  // no file re-encrypted, none rewritten
    // Puts go on under VK, and open again after the next unlock.
    agent_->put(
        agent::element_from_params({{"type", "identity_card"},
                                    {"data", {{"document_no", "ID42"}, {"expiry_date", ""}}},
                                    {"front_side", b64(scan("id-front", 2000))},
                                    {"reverse_side", b64(scan("id-back", 2000))}}));
    (void)agent_->lock(agent::LockReason::requested);
    (void)agent_->unlock(pin(), false);
    EXPECT_EQ(agent_->get(vault::ElementType::identity_card)["data"]["document_no"], "ID42");
    EXPECT_EQ(got(), before);
  }
};

TEST_F(AgentVaultKeyTest, AdoptsVaultKeyAndUnlocksFromTheSlotOnAnAesToken) {
  adopts_and_unlocks_again(false);
}

TEST_F(AgentVaultKeyTest, AdoptsVaultKeyAndUnlocksFromTheSlotInAsymmetricMode) {
  adopts_and_unlocks_again(true);
}

TEST_F(AgentVaultKeyTest, ANewVaultHasItsVaultKeyFromInitAndUnlocksFromItsSlot) {
  for (const bool asymmetric : {false, true}) {
    SCOPED_TRACE(asymmetric ? "asymmetric" : "token_aes");
    fs::remove_all(store_path_.parent_path());
    start(asymmetric);
    EXPECT_EQ(agent_->init(pin(), false, std::nullopt)["vault_key"], true);
    put_all_through_agent();
    const json before = got();
    vault::Bytes slot_key;
    agent_->with_cloud_keys([&](const agent::HolderAgent::CloudKeys& keys) {
      slot_key = keys.slot_public_key_spki_der;
    });
    EXPECT_EQ(slot_key.size(), 294u);
    EXPECT_THROW((void)agent_->adopt_vault_key(), rpc::RpcError);
    (void)agent_->lock(agent::LockReason::requested);
    EXPECT_EQ(agent_->unlock(pin(), false)["unlocked"], true);
    EXPECT_EQ(got(), before);
    agent_.reset();
  }
}

TEST_F(AgentVaultKeyTest, AnAlteredSlotFailsUnlockClearlyAndChangesNothing) {
  start(false);
  (void)agent_->init(pin(), false, std::nullopt);  // VK from init, in its slot
  put_all_through_agent();
  const json before = got();
  agent_.reset();

  const auto settings_now = [&] {
    auto store = vault::VaultStore::open(store_path_, false);
    std::map<std::string, vault::Bytes> all;
    for (const char* name : {"vault_key_slot", "slot_key_uri", "key_hierarchy", "mode",
                             "identity_key_uri", "token_serial"})
      all[name] = store->setting(name).value_or(vault::Bytes{});
    return all;
  };
  vault::Bytes slot;
  {
    auto store = vault::VaultStore::open(store_path_, false);
    slot = *store->setting("vault_key_slot");
    vault::Bytes altered = slot;
    altered[100] ^= 0x01;
    store->put_setting("vault_key_slot", altered);
  }
  const auto altered_settings = settings_now();
  start(false);
  try {
    (void)agent_->unlock(pin(), false);
    ADD_FAILURE() << "unlocked with an altered slot";
  } catch (const rpc::RpcError& error) {
    EXPECT_NE(std::string(error.what()).find("key slot does not open"), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(agent_->status()["unlocked"], false);
  agent_.reset();
  EXPECT_EQ(settings_now(), altered_settings);

  {
    auto store = vault::VaultStore::open(store_path_, false);
    store->put_setting("vault_key_slot", slot);
  }
  start(false);
  EXPECT_EQ(agent_->unlock(pin(), false)["unlocked"], true);
  EXPECT_EQ(got(), before);
}

TEST_F(AgentVaultKeyTest, RecoveryOntoANewTokenLeavesTheVaultKeyBehind) {
  start(false, true);
  (void)agent_->init(pin(), false, SecretBytes::from_string("correct horse battery"));
  put_all_through_agent();
  const json before = got();
  const json adopted = agent_->adopt_vault_key();
  agent_.reset();

  token_.environment().add_token("spare");
  token_.remove();
  agent::AgentConfig config;
  config.store_path = store_path_;
  config.module_path = idvault::testing::softhsm_module_path();
  config.token_uri = "pkcs11:token=spare";
  agent_ = std::make_unique<agent::HolderAgent>(config);
  const json recovered =
      agent_->recover(pin(), SecretBytes::from_string("correct horse battery"), false);
  EXPECT_EQ(recovered["secrets"], kSecrets);
  EXPECT_EQ(got(), before);
  (void)agent_->lock(agent::LockReason::requested);
  ASSERT_EQ(agent_->unlock(pin(), false)["unlocked"], true);  // with a vault key of its own
  EXPECT_EQ(got(), before);
  agent_->with_cloud_keys([&](const agent::HolderAgent::CloudKeys& keys) {
    EXPECT_NE(vault::key_fingerprint(keys.slot_public_key_spki_der), adopted["slot_key_sha256"]);
  });
}

}  // namespace
