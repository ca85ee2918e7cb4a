// The holder agent's side of the cloud (docs/CLOUD.md): putting the vault in an account,
// joining one from a new device, approving devices, and syncing. The server is only
// ever trusted with ciphertext and signed statements: every log it returns is verified
// here, against the head this vault saw last, before any device or slot in it is used.
#include <unistd.h>

#include <climits>
#include <ctime>
#include <optional>

#include "common/base64.h"
#include "common/pem.h"
#include "host/agent/audit_log.h"
#include "host/agent/cloud_errors.h"
#include "host/agent/cloud_link.h"
#include "host/agent/element_sync.h"
#include "host/agent/holder_agent.h"
#include "host/agent/note_sync.h"
#include "host/agent/pending_join.h"
#include "host/agent/receipt_signers.h"
#include "host/agent/rpc_errors.h"
#include "host/cloud/client/cloud_client.h"
#include "vault/account/join_code.h"
#include "vault/account/recovery_code.h"
#include "vault/account/request_signature.h"
#include "vault/account/vault_key_check.h"
#include "vault/keys/token_keys.h"
#include "vault/signed/share_receipt.h"
#include "vault/signed/signed_statement.h"

namespace idvault::agent {

using rpc::RpcCode;
using rpc::RpcError;

namespace {

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "device";
  return name;
}

std::string server_of(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// A client of the vault's account, every request signed as this device on its token.
struct AccountClient {
  AccountClient(const CloudLink& link, const vault::SigningKey& identity_key)
      : client(link.url.server), signer(identity_key, link.url.account, link.device_id) {
    client.sign_as(&signer);
  }
  cloud::CloudClient client;
  vault::RequestSigner signer;
};

CloudLink require_link(vault::VaultStore& store) {
  auto link = load_cloud_link(store);
  if (!link) {
    throw RpcError(RpcCode::bad_input,
                   "this vault is in no cloud account: run 'idvault cloud init URL' or, on a new "
                   "token, 'idvault cloud join ACCOUNT_URL'");
  }
  return *link;
}

// The whole log, verified from the genesis the account id names and against the head
// this vault saw last; the link's head moves to its end, and the store keeps the entries
// for the account proof every share carries.
vault::AccountState verified_log(cloud::CloudClient& client, CloudLink& link,
                                 vault::VaultStore& store) {
  const std::vector<std::string> entries = client.log(link.url.account, 0);
  vault::AccountState state = vault::AccountLog::verify(entries, link.url.account, &link.head);
  link.head = state.head();
  save_account_log(store, entries);
  return state;
}

// An entry this device appended (and the server took) joins the kept log.
void keep_appended(vault::VaultStore& store, const std::string& entry) {
  std::vector<std::string> entries = load_account_log(store);
  entries.push_back(entry);
  save_account_log(store, entries);
}

// What accepts a VK this device did not seal itself (from a join's slot, the recovery
// slot, a rotation's): only the VK whose check (vault_key_check.h) an enrolled device of
// state signed for state's generation. The check is read from the server now.
AcceptVaultKey vouched_for_by_a_device(cloud::CloudClient& client,
                                       const vault::AccountState& state) {
  std::optional<cloud::CloudClient::Item> check =
      client.item(state.account_id, vault::vault_key_check_id(state.vk_generation));
  return [check = std::move(check), &state](const vault::MasterKey& vault_key) {
    if (!check || check->deleted) throw vault::VaultKeyCheckError("no check on the server");
    vault::verify_vault_key_check(check->bytes, vault_key, state);
  };
}

// Moves the vault to the VK sealed in own_slot (rotate_vault_key), and in the same
// transaction the sync states' parents (their secrets re-wrapped) and the link at the
// new generation. Returns how many secrets moved; link is the new one after.
std::size_t move_to_vault_key(const std::shared_ptr<p11::Token>& token, vault::VaultStore& store,
                              HolderKeys& keys, CloudLink& link, std::uint64_t generation,
                              vault::ByteView own_slot, const AcceptVaultKey& accept = {}) {
  const vault::MasterKey& old_key = *keys.vault_key;
  CloudLink moved = link;
  moved.vk_generation = generation;
  const std::size_t secrets =
      rotate_vault_key(token, store, keys, own_slot, [&](const vault::MasterKey& to) {
        if (accept) accept(to);
        return std::vector<std::pair<std::string, vault::Bytes>>{
            rewrapped_sync_states(store, old_key, to), cloud_link_setting(moved)};
      });
  link = moved;
  return secrets;
}

// Another device rotated the account's VK (it revoked a device): this device's slot now
// holds the new one. The vault moves to it, with the sync states' parents, in one
// transaction. False when the slot is not sealed again yet (the rotating device is
// still at it): the next sync tries again.
bool follow_rotation(HolderKeys& keys, const std::shared_ptr<p11::Token>& token,
                     vault::VaultStore& store, cloud::CloudClient& client, CloudLink& link,
                     const vault::AccountState& state) {
  if (state.vk_generation <= link.vk_generation) return true;
  const auto sealed = client.slot(link.url.account, link.device_id);
  if (!sealed) return false;
  // The slot was sealed by the device that rotated, or by the server.
  try {
    (void)move_to_vault_key(token, store, keys, link, state.vk_generation, *sealed,
                            vouched_for_by_a_device(client, state));
  } catch (const VaultKeyUnchanged&) {
    log(LogLevel::info,
        "cloud: the account's vault key is being rotated; not yet sealed to this device");
    return false;
  }
  log(LogLevel::info, "cloud: moved to vault key generation " + std::to_string(link.vk_generation));
  return true;
}

}  // namespace

nlohmann::json HolderAgent::cloud_init(const std::string& server_url,
                                       const SecretBytes& recovery_code,
                                       const std::string& device_name) {
  const std::string server = server_of(server_url);
  // Both checked before anything changes: a code that does not read and a bad name.
  const vault::RecoveryCode code =
      translating_errors([&] { return vault::RecoveryCode::parse(recovery_code.reveal_text()); });
  const std::string device_id = translating_errors(
      [&] { return device_id_from_name(device_name.empty() ? host_name() : device_name); });
  // Its own transaction: a cloud init that fails after it leaves a vault under VK with
  // no account, which works as before and can try again.
  // A vault made since VK comes at init has it already: nothing is re-wrapped then.
  std::size_t rewrapped = 0;
  if (!vault_key_in_use()) {
    rewrapped = adopt_vault_key().value("secrets", std::size_t{0});
    log(LogLevel::info, "cloud: vault key adopted, " + std::to_string(rewrapped) +
                            " secrets re-wrapped from the master key");
  } else {
    log(LogLevel::info, "cloud: the vault has its vault key since init: nothing re-wrapped");
  }
  nlohmann::json result;
  with_cloud_keys([&](const CloudKeys& keys) {
    if (auto link = load_cloud_link(keys.store)) {
      throw RpcError(RpcCode::bad_input,
                     "this vault is already in the cloud account " + account_url(link->url));
    }
    cloud_errors([&] {
      const vault::RecoveryEnvelope envelope =
          vault::seal_recovery_key_under_code(code, keys.identity_key);
      const vault::Bytes recovery_key = spki_der_from_pem(envelope.public_key_pem, "recovery");
      const std::string genesis = vault::AccountLog::genesis(
          {device_id, keys.slot_public_key_spki_der, recovery_key}, keys.identity_key, unix_now());
      // The account id is the genesis entry's hash, so even the request that creates the
      // account is signed by this device for that account.
      const std::string account = vault::AccountLog::entry_hash(genesis);
      cloud::CloudClient client(server);
      const vault::RequestSigner signer(keys.identity_key, account, device_id);
      client.sign_as(&signer);
      (void)client.create_account(genesis);
      // What a device that joins or recovers checks its VK against, before any slot.
      const std::string check =
          vault::sign_vault_key_check(keys.vault_key, account, 1, keys.identity_key);
      (void)client.put_item(account, vault::vault_key_check_id(1), vault::bytes_of(check),
                            std::nullopt);
      // The two ways to unlock, on the server before any document is.
      client.put_slot(account, device_id, keys.vault_key.seal_to(keys.slot_public_key_spki_der));
      client.put_slot(account, "recovery", keys.vault_key.seal_to(recovery_key));
      const std::string envelope_text = vault::to_json(envelope).dump();
      client.put_recovery_key(account, vault::Bytes(envelope_text.begin(), envelope_text.end()));
      CloudLink link{{server, account}, device_id, {0, account}, 0};
      save_account_log(keys.store, {genesis});
      save_cloud_link(keys.store, link);
      ElementSync sync(client, link, keys.store, keys.vault_key);
      const SyncCounts counts = sync.push();
      // The receipts, attestations and errors this vault already has go up with it.
      NoteSync notes(client, link, keys.store, keys.vault_key,
                     receipt_signers(keys.store, keys.identity_key));
      const NoteCounts noted = notes.push();
      log(LogLevel::info,
          "cloud: vault put in account " + account_url(link.url) + " as device " + device_id);
      result = {{"account_url", account_url(link.url)},
                {"account", account},
                {"device_id", device_id},
                {"elements", counts.pushed},
                {"secrets_rewrapped", rewrapped},
                {"notes", noted.pushed}};
    });
  });
  start_cloud_watch();
  return result;
}

nlohmann::json HolderAgent::cloud_join(const std::string& account_url_text, const SecretBytes& pin,
                                       bool allow_final_try, const std::string& device_name) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    const AccountUrl url = parse_account_url(account_url_text);
    const std::string device_id =
        device_id_from_name(device_name.empty() ? host_name() : device_name);
    if (vault_initialised(store())) {
      throw RpcError(RpcCode::already_initialised,
                     "this agent already has a vault at " + config_.store_path.string() +
                         ": a device joins with a token and store that hold none");
    }
    // The same join asked again (after --no-wait, or a CLI that was stopped while it
    // waited): the request already made goes on, with the same digits.
    if (pending_join_ && pending_join_->url.account == url.account &&
        pending_join_->device_id == device_id) {
      return nlohmann::json{{"device_id", device_id},
                            {"request_id", pending_join_->request_id},
                            {"code", pending_join_->code},
                            {"expires", pending_join_->expires},
                            {"resumed", true}};
    }
    pending_join_.reset();
    auto token = resolve_token();
    auto login = p11::Login::open(token, pin, {allow_final_try});
    const JoiningDevice keys = prepare_join(token, store(), config_.force_asymmetric);
    return cloud_errors([&] {
      cloud::CloudClient client(url.server);
      const std::string nonce = vault::new_join_nonce();
      const auto request = client.request_join(url.account, device_id, keys.identity_key_spki_der,
                                               keys.slot_public_key_spki_der, nonce);
      const std::string code = vault::join_code(url.account, keys.identity_key_spki_der,
                                                keys.slot_public_key_spki_der, nonce);
      pending_join_ = std::make_unique<PendingJoin>(
          PendingJoin{token, std::move(login), url, device_id, request.id, code, request.expires});
      log(LogLevel::info, "cloud: asked to join " + account_url(url) + " as device " + device_id);
      return nlohmann::json{{"device_id", device_id},
                            {"request_id", request.id},
                            {"code", code},
                            {"expires", request.expires}};
    });
  });
}

nlohmann::json HolderAgent::cloud_join_finish() {
  nlohmann::json result = finish_join_locked();
  if (result.value("status", std::string()) != "joined" || !result.contains("device_id"))
    return result;
  // What the account holds comes down now, as any sync would bring it.
  const nlohmann::json synced = cloud_sync();
  result["elements"] = synced.value("pulled", 0);
  start_cloud_watch();  // after that first pull, which counts what came
  emit("cloud.joined", {{"account_url", result["account_url"]}, {"elements", result["elements"]}});
  return result;
}

nlohmann::json HolderAgent::finish_join_locked() {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (!pending_join_) {
      if (unlocked_ && load_cloud_link(store())) return nlohmann::json{{"status", "joined"}};
      throw RpcError(RpcCode::bad_input,
                     "no join in progress: run 'idvault cloud join ACCOUNT_URL'");
    }
    PendingJoin& join = *pending_join_;
    return cloud_errors([&] {
      cloud::CloudClient client(join.url.server);
      const auto status = client.join_status(join.url.account, join.request_id);
      if (!status) {
        pending_join_.reset();
        throw RpcError(RpcCode::bad_input,
                       "the join request expired or was declined: run 'idvault cloud join' again");
      }
      if (*status != "approved") return nlohmann::json{{"status", *status}};
      const auto identity_uri = store().setting("identity_key_uri");
      if (!identity_uri)
        throw RpcError(RpcCode::bad_input, "the joining device's keys are gone from the store");
      const vault::TokenSigningKey identity = vault::TokenSigningKey::from_uri(
          join.token, std::string(identity_uri->begin(), identity_uri->end()));
      const vault::RequestSigner signer(identity, join.url.account, join.device_id);
      client.sign_as(&signer);
      CloudLink link{join.url, join.device_id, {}, 0};
      const std::vector<std::string> entries = client.log(link.url.account, 0);
      const vault::AccountState state =
          vault::AccountLog::verify(entries, link.url.account, nullptr);
      const vault::AccountDevice* me =
          state.device_with_identity_key(identity.public_key_spki_der());
      if (me == nullptr || me->id != join.device_id) {
        throw RpcError(RpcCode::bad_input, "the account log does not enrol this device as " +
                                               join.device_id + " (yet)");
      }
      link.head = state.head();
      // The slot holds the account's current VK: a device joining after a rotation is at
      // that generation from the start, not following a rotation it never saw.
      link.vk_generation = state.vk_generation;
      const auto sealed = client.slot(link.url.account, join.device_id);
      if (!sealed) return nlohmann::json{{"status", "pending"}};  // the slot comes after the entry
      // The server could have sealed a key of its own to this device's slot key.
      HolderKeys keys =
          complete_join(join.token, store(), *sealed, vouched_for_by_a_device(client, state));
      save_account_log(store(), entries);
      save_cloud_link(store(), link);
      std::shared_ptr<p11::Token> token = join.token;
      p11::Login login = std::move(join.login);
      pending_join_.reset();
      become_unlocked(token, std::move(login), std::move(keys));
      log(LogLevel::info,
          "cloud: joined " + account_url(link.url) + " as device " + link.device_id);
      return nlohmann::json{{"status", "joined"},
                            {"account_url", account_url(link.url)},
                            {"device_id", link.device_id}};
    });
  });
}

nlohmann::json HolderAgent::cloud_recover(const std::string& account_url_text,
                                          const SecretBytes& recovery_code, const SecretBytes& pin,
                                          bool allow_final_try, const std::string& device_name) {
  nlohmann::json result =
      recover_locked(account_url_text, recovery_code, pin, allow_final_try, device_name);
  // Every element comes down now, as for a joined device.
  const nlohmann::json synced = cloud_sync();
  result["elements"] = synced.value("pulled", 0);
  emit("cloud.recovered",
       {{"account_url", result["account_url"]}, {"elements", result["elements"]}});
  start_cloud_watch();  // after that first pull, as for a joined device
  return result;
}

// A recovery without any old device: the recovery code opens the recovery key (kept on
// the server sealed under it), which reads the log (request signed PS256 as the recovery
// slot), enrols this device in it (a device-add entry signed by the recovery key) and
// opens VK from the recovery slot; VK sealed to this device's slot then completes the
// join as an approval would. Nothing is sent before the code has opened the key, and a
// retry after a failure part way finds its own device-add and goes on from there.
nlohmann::json HolderAgent::recover_locked(const std::string& account_url_text,
                                           const SecretBytes& recovery_code, const SecretBytes& pin,
                                           bool allow_final_try, const std::string& device_name) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    const AccountUrl url = parse_account_url(account_url_text);
    const vault::RecoveryCode code = vault::RecoveryCode::parse(recovery_code.reveal_text());
    std::string device_id = device_id_from_name(device_name.empty() ? host_name() : device_name);
    if (vault_initialised(store())) {
      throw RpcError(RpcCode::already_initialised,
                     "this agent already has a vault at " + config_.store_path.string() +
                         ": recover --cloud needs a token and store that hold none");
    }
    pending_join_.reset();
    auto token = resolve_token();
    auto login = p11::Login::open(token, pin, {allow_final_try});
    return cloud_errors([&] {
      cloud::CloudClient client(url.server);
      const auto envelope_bytes = client.recovery_key(url.account);
      if (!envelope_bytes) {
        throw RpcError(RpcCode::not_found,
                       "the account " + account_url(url) + " has no recovery key on the server");
      }
      const vault::RecoveryEnvelope envelope = vault::recovery_envelope_from_json(
          nlohmann::json::parse(envelope_bytes->begin(), envelope_bytes->end()));
      std::optional<vault::RecoveryOpener> recovery_key;
      try {
        recovery_key.emplace(vault::open_recovery_key_with_code(envelope, code));
      } catch (const vault::DecryptError&) {
        throw RpcError(RpcCode::bad_input,
                       "wrong recovery code: it does not open this account's recovery key "
                       "(nothing was changed)");
      }
      // The log, read as the recovery key (the genesis's recovery slot) and verified from
      // the genesis the account id names; the key must be the one the log names.
      const vault::RequestSigner as_recovery(*recovery_key, url.account, "recovery");
      client.sign_as(&as_recovery);
      std::vector<std::string> entries = client.log(url.account, 0);
      vault::AccountState state = vault::AccountLog::verify(entries, url.account, nullptr);
      client.sign_as(nullptr);
      const auto slot = state.slots.find("recovery");
      if (slot == state.slots.end() || slot->second.slot_for != vault::SlotFor::recovery ||
          slot->second.key != recovery_key->public_key_spki_der()) {
        throw RpcError(RpcCode::bad_input,
                       "the account log names another recovery key than the one the server "
                       "keeps under the code");
      }
      if (slot->second.vk_generation != state.vk_generation) {
        throw RpcError(RpcCode::bad_input,
                       "the recovery slot holds an older vault key than the account's");
      }
      const JoiningDevice keys = prepare_join(token, store(), config_.force_asymmetric);
      const auto identity_uri = store().setting("identity_key_uri");
      if (!identity_uri)
        throw RpcError(RpcCode::bad_input, "the new device's keys are gone from the store");
      const vault::TokenSigningKey identity = vault::TokenSigningKey::from_uri(
          token, std::string(identity_uri->begin(), identity_uri->end()));
      if (const vault::AccountDevice* me =
              state.device_with_identity_key(keys.identity_key_spki_der)) {
        device_id = me->id;  // enrolled by an earlier attempt that stopped after it
      } else {
        const std::string entry = vault::AccountLog::append(
            state,
            vault::DeviceAdd{device_id, keys.identity_key_spki_der, keys.slot_public_key_spki_der},
            *recovery_key, unix_now());
        if (!client.append_log(url.account, entry).appended) {
          throw RpcError(RpcCode::busy,
                         "the account log changed meanwhile: run 'idvault recover --cloud' again");
        }
        entries.push_back(entry);
      }
      // Enrolled: from here on, requests are this device's own.
      const vault::RequestSigner signer(identity, url.account, device_id);
      client.sign_as(&signer);
      const auto recovery_sealed = client.slot(url.account, "recovery");
      if (!recovery_sealed)
        throw RpcError(RpcCode::not_found, "the server holds no recovery slot for the account");
      vault::Bytes sealed;
      try {
        const vault::MemoryVaultKey vault_key =
            vault::open_recovery_slot(*recovery_key, *recovery_sealed);
        // The recovery key is public too: the server could have sealed a key of its own.
        vouched_for_by_a_device(client, state)(vault_key);
        sealed = vault_key.seal_to(keys.slot_public_key_spki_der);
      } catch (const vault::SlotError&) {
        throw RpcError(RpcCode::bad_input,
                       "the recovery slot on the server does not open with the recovery key");
      }
      client.put_slot(url.account, device_id, sealed);
      HolderKeys opened = complete_join(token, store(), sealed);
      CloudLink link{url, device_id, state.head(), 0};
      link.vk_generation = state.vk_generation;  // what the recovery slot held (checked above)
      save_account_log(store(), entries);
      save_cloud_link(store(), link);
      become_unlocked(token, std::move(login), std::move(opened));
      log(LogLevel::info, "cloud: recovered " + account_url(url) +
                              " with the recovery code as device " + device_id);
      return nlohmann::json{
          {"status", "recovered"}, {"account_url", account_url(url)}, {"device_id", device_id}};
    });
  });
}

nlohmann::json HolderAgent::devices() {
  nlohmann::json result;
  with_cloud_keys([&](const CloudKeys& keys) {
    cloud_errors([&] {
      CloudLink link = require_link(keys.store);
      AccountClient account(link, keys.identity_key);
      cloud::CloudClient& client = account.client;
      const vault::AccountState state = verified_log(client, link, keys.store);
      save_cloud_link(keys.store, link);
      nlohmann::json devices = nlohmann::json::array();
      for (const auto* list : {&state.devices, &state.revoked}) {
        for (const auto& [id, device] : *list) {
          devices.push_back({{"id", id},
                             {"this_device", id == link.device_id},
                             {"revoked", device.revoked_at.has_value()},
                             {"approved_by", device.approved_by},
                             {"identity_key_sha256", vault::key_fingerprint(device.identity_key)}});
        }
      }
      nlohmann::json requests = nlohmann::json::array();
      for (const auto& request : client.join_requests(link.url.account)) {
        // The digits are computed here from what the request holds, never taken from the
        // server: a request someone planted shows other digits than the new device.
        requests.push_back({{"id", request.id},
                            {"device_id", request.device_id},
                            {"code", vault::join_code(link.url.account, request.identity_key,
                                                      request.slot_key, request.nonce)},
                            {"expires", request.expires}});
      }
      result = {
          {"account_url", account_url(link.url)}, {"devices", devices}, {"requests", requests}};
    });
  });
  return result;
}

nlohmann::json HolderAgent::approve_device(const std::string& request_id) {
  nlohmann::json result;
  with_cloud_keys([&](const CloudKeys& keys) {
    cloud_errors([&] {
      CloudLink link = require_link(keys.store);
      AccountClient account(link, keys.identity_key);
      cloud::CloudClient& client = account.client;
      vault::AccountState state = verified_log(client, link, keys.store);
      std::optional<cloud::CloudClient::JoinRequest> found;
      for (auto& request : client.join_requests(link.url.account)) {
        if (request.id == request_id) found = std::move(request);
      }
      if (!found) {
        throw RpcError(RpcCode::not_found, "no pending join request " + request_id +
                                               " (expired, declined, or never made)");
      }
      // Throws AccountLogError for a device id already taken or a key that is not one.
      const std::string entry = vault::AccountLog::append(
          state, vault::DeviceAdd{found->device_id, found->identity_key, found->slot_key},
          keys.identity_key, unix_now());
      if (!client.append_log(link.url.account, entry).appended) {
        throw RpcError(
            RpcCode::busy,
            "the account log changed meanwhile: run 'idvault devices' and approve again");
      }
      link.head = state.head();
      keep_appended(keys.store, entry);
      save_cloud_link(keys.store, link);
      client.put_slot(link.url.account, found->device_id, keys.vault_key.seal_to(found->slot_key));
      log(LogLevel::info, "cloud: approved device " + found->device_id);
      result = {{"device_id", found->device_id}, {"request_id", request_id}};
    });
  });
  return result;
}

nlohmann::json HolderAgent::cloud_sync() {
  nlohmann::json result;
  with_unlocked_keys([&](HolderKeys& keys, const std::shared_ptr<p11::Token>& token,
                         vault::VaultStore& store) {
    if (keys.vault_key == nullptr) {
      throw RpcError(RpcCode::bad_input,
                     "this vault has no vault key yet: run 'idvault cloud init' first");
    }
    cloud_errors([&] {
      CloudLink link = require_link(store);
      AccountClient account(link, *keys.identity_key);
      cloud::CloudClient& client = account.client;
      const vault::AccountState state = verified_log(client, link, store);
      if (!state.devices.contains(link.device_id)) {
        throw RpcError(RpcCode::bad_input,
                       "this device (" + link.device_id + ") is no longer enrolled in the account");
      }
      save_cloud_link(store, link);
      if (!follow_rotation(keys, token, store, client, link, state)) {
        result = {{"pushed", 0}, {"pulled", 0}, {"conflicts", 0}, {"waiting_for_key", true}};
        return;
      }
      ElementSync sync(client, link, store, *keys.vault_key);
      std::vector<std::string> note_ids;
      SyncCounts pulled = sync.pull(link.changes_seen, &note_ids);
      // After the elements: storing an element clears its attestations and errors, so
      // notes about it that arrived with it are taken in once it is there.
      NoteSync notes(client, link, store, *keys.vault_key,
                     receipt_signers(store, *keys.identity_key, state, link.device_id));
      const NoteCounts notes_pulled = notes.pull(note_ids);
      save_cloud_link(store, link);
      const SyncCounts pushed = sync.push();  // what changed here, merges included
      const NoteCounts notes_pushed = notes.push();
      result = {{"pushed", pushed.pushed},
                {"pulled", pulled.pulled},
                {"conflicts", pushed.conflicts},
                {"notes_pushed", notes_pushed.pushed},
                {"notes_pulled", notes_pulled.pulled},
                {"notes_refused", notes_pulled.refused}};
    });
  });
  if (result.value("pulled", 0) > 0 || result.value("notes_pulled", 0) > 0)
    emit("cloud.synced", result);
  return result;
}

nlohmann::json HolderAgent::revoke_device(const std::string& device_id) {
  nlohmann::json result;
  with_unlocked_keys(
      [&](HolderKeys& keys, const std::shared_ptr<p11::Token>& token, vault::VaultStore& store) {
        if (keys.vault_key == nullptr) {
          throw RpcError(RpcCode::bad_input,
                         "this vault has no vault key yet: run 'idvault cloud init' first");
        }
        cloud_errors([&] {
          CloudLink link = require_link(store);
          if (device_id == link.device_id) {
            throw RpcError(RpcCode::bad_input,
                           "a device does not revoke itself: revoke it from another device of the "
                           "account");
          }
          AccountClient account(link, *keys.identity_key);
          cloud::CloudClient& client = account.client;
          vault::AccountState state = verified_log(client, link, store);
          if (!state.devices.contains(device_id))
            throw RpcError(RpcCode::not_found, "no enrolled device " + device_id);
          if (!follow_rotation(keys, token, store, client, link, state)) {
            throw RpcError(RpcCode::busy, "a key rotation is under way: try again in a moment");
          }
          // The new key first (nothing on the server changes if the token cannot make it),
          // then the log: from the device-revoke on, the server refuses the device.
          const std::unique_ptr<vault::VaultKey> new_key = generate_vault_key(token, keys.mode);
          const std::string revoke = vault::AccountLog::append(
              state, vault::DeviceRevoke{device_id}, *keys.identity_key, unix_now());
          if (!client.append_log(link.url.account, revoke).appended)
            throw RpcError(RpcCode::busy, "the account log changed meanwhile: try again");
          keep_appended(store, revoke);
          std::vector<std::string> slot_ids;
          for (const auto& [id, slot] : state.slots) slot_ids.push_back(id);
          const std::string rotate =
              vault::AccountLog::append(state, vault::KeyRotate{state.vk_generation + 1, slot_ids},
                                        *keys.identity_key, unix_now());
          if (!client.append_log(link.url.account, rotate).appended)
            throw RpcError(RpcCode::busy, "the account log changed meanwhile: try again");
          keep_appended(store, rotate);
          link.head = state.head();
          save_cloud_link(store, link);
          // The new key's check first, so a device that finds its slot sealed again also
          // finds what it must check the key against.
          const std::string check = vault::sign_vault_key_check(
              *new_key, link.url.account, state.vk_generation, *keys.identity_key);
          (void)client.put_item(link.url.account, vault::vault_key_check_id(state.vk_generation),
                                vault::bytes_of(check), std::nullopt);
          // Every remaining slot gets the new key, this device's too.
          vault::Bytes own_slot;
          for (const auto& [id, slot] : state.slots) {
            vault::Bytes sealed = new_key->seal_to(slot.key);
            client.put_slot(link.url.account, id, sealed);
            if (id == link.device_id) own_slot = std::move(sealed);
          }
          try {  // the old key sealed to the revoked device: it had that key anyway
            client.delete_slot(link.url.account, device_id);
          } catch (const cloud::CloudError&) {
          }
          const std::size_t secrets =
              move_to_vault_key(token, store, keys, link, state.vk_generation, own_slot);
          // Every item sealed again under the new key (files are not re-encrypted: their
          // secrets are in the items).
          ElementSync sync(client, link, store, *keys.vault_key);
          const SyncCounts pushed = sync.push(true);
          NoteSync notes(client, link, store, *keys.vault_key,
                         receipt_signers(store, *keys.identity_key, state, link.device_id));
          const NoteCounts notes_pushed = notes.push(true);
          log(LogLevel::info, "cloud: revoked device " + device_id + "; vault key generation " +
                                  std::to_string(link.vk_generation));
          result = {{"device_id", device_id},
                    {"vk_generation", link.vk_generation},
                    {"secrets", secrets},
                    {"items", pushed.pushed + notes_pushed.pushed}};
        });
      });
  return result;
}

nlohmann::json HolderAgent::resolve(vault::ElementType type,
                                    const std::optional<std::string>& field, vault::Take take) {
  nlohmann::json result;
  with_cloud_keys([&](const CloudKeys& keys) {
    cloud_errors([&] {
      CloudLink link = require_link(keys.store);
      AccountClient account(link, keys.identity_key);
      cloud::CloudClient& client = account.client;
      ElementSync sync(client, link, keys.store, keys.vault_key);
      const std::size_t settled = sync.resolve(type, field, take);
      if (settled == 0) {
        throw RpcError(RpcCode::not_found, std::string("no conflict on ") +
                                               std::string(vault::to_string(type)) +
                                               (field ? " field " + *field : std::string()));
      }
      // Settled here is settled everywhere: pushed at once when the server is there.
      std::size_t pushed = 0;
      try {
        pushed = sync.push().pushed;
      } catch (const cloud::CloudError& error) {
        log(LogLevel::warning,
            std::string("cloud: resolve kept here, not yet sent: ") + error.what());
      }
      result = {{"settled", settled}, {"pushed", pushed}};
    });
  });
  return result;
}

}  // namespace idvault::agent
