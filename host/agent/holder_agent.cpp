#include "host/agent/holder_agent.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/base64.h"
#include "host/agent/audit_log.h"
#include "host/agent/cloud_link.h"
#include "host/agent/cloud_watch.h"
#include "host/agent/element_json.h"
#include "host/agent/element_sync.h"
#include "host/agent/known_service_keys.h"
#include "host/agent/pending_join.h"
#include "host/agent/receipt_signers.h"
#include "host/agent/rpc_errors.h"
#include "host/agent/share_consent.h"
#include "host/rpc/compact_json.h"
#include "host/rpc/json_rpc.h"
#include "pkcs11/error.h"
#include "pkcs11/token.h"
#include "pkcs11/token_info.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "vault/account/account_proof.h"
#include "vault/keys/recovery_key.h"
#include "vault/model/auth_link.h"
#include "vault/model/element_error.h"
#include "vault/model/errors.h"
#include "vault/model/scope_description.h"
#include "vault/model/share_error_fit.h"
#include "vault/signed/attestation.h"
#include "vault/signed/element_error_signature.h"
#include "vault/signed/identity_key_history.h"

namespace idvault::agent {

using rpc::RpcCode;
using rpc::RpcError;

struct HolderAgent::Unlocked {
  std::shared_ptr<p11::Token> token;
  p11::Login login;
  HolderKeys keys;
  std::unique_ptr<vault::RecoverySealer> recovery;
  // Why puts are refused, when the store names a recovery key this vault's identity key
  // did not sign: sealing to it could give every later secret to whoever put it there.
  std::string recovery_refused;
  std::unique_ptr<vault::HolderVault> vault;
};

namespace {

// The bundle for the answer: nlohmann's conversion between its two JSON types copies
// every string, and a bundle's are megabytes of base64; these are moved.
nlohmann::json moved_into_answer(nlohmann::ordered_json&& value) {
  if (value.is_string()) return nlohmann::json(std::move(value.get_ref<std::string&>()));
  if (value.is_object()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto& [key, member] : value.items()) object[key] = moved_into_answer(std::move(member));
    return object;
  }
  if (value.is_array()) {
    nlohmann::json array = nlohmann::json::array();
    for (auto& element : value) array.push_back(moved_into_answer(std::move(element)));
    return array;
  }
  return nlohmann::json(value);  // a number, a bool or null
}

// The bundle as one compact line of JSON (members in the bundle's own order), written
// over whatever the passed file held. Returns its size.
std::size_t write_bundle(int fd, const nlohmann::ordered_json& bundle) {
  std::string text;
  rpc::append_compact_json(bundle, text);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n =
        ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw RpcError(RpcCode::delivery_failed,
                     std::string("the bundle could not be written to the file passed: ") +
                         std::strerror(errno) + " (the share is in the receipt log)");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) {
    throw RpcError(
        RpcCode::delivery_failed,
        std::string("the file passed could not be cut to the bundle: ") + std::strerror(errno));
  }
  return text.size();
}

constexpr const char* kRecoveryPending = "recovery_pending";
constexpr const char* kIdentityKeyHistory = kIdentityKeyHistorySetting;

vault::Bytes text_bytes(std::string_view text) {
  return vault::Bytes(text.begin(), text.end());
}

vault::Bytes json_bytes(const nlohmann::json& json) {
  return text_bytes(json.dump());
}

std::optional<nlohmann::json> json_setting(vault::VaultStore& store, const std::string& name) {
  auto value = store.setting(name);
  if (!value) return std::nullopt;
  return nlohmann::json::parse(value->begin(), value->end());
}

// What a share of a vault in a cloud account carries so a service knows the holder as the
// account: the log this device last verified, checked again here (the store is a file
// anyone with the user's files can rewrite) to prove this device's identity key. None,
// with a warning, when the kept log proves nothing (not kept yet, unreadable, or this
// device revoked in it): the share then binds to this device's key, as a vault without a
// cloud does, which a service still accepts.
std::optional<vault::AccountProof> account_proof(vault::VaultStore& store,
                                                 vault::ByteView identity_key) {
  const std::optional<CloudLink> link = load_cloud_link(store);
  if (!link) return std::nullopt;
  vault::AccountProof proof{link->url.account, {}};
  try {
    proof.log = load_account_log(store);
    if (proof.log.empty())
      throw vault::AccountProofError("no account log kept yet ('idvault sync' keeps it)");
    (void)vault::verify_account_proof(proof, identity_key);
  } catch (const std::runtime_error& error) {  // AccountProofError, FormatError
    log(LogLevel::warning,
        std::string("share: sent without the account's proof, as this device only: ") +
            error.what());
    return std::nullopt;
  }
  return proof;
}

std::optional<vault::RecoveryEnvelope> recovery_envelope(vault::VaultStore& store) {
  auto json = json_setting(store, "recovery");
  if (!json) return std::nullopt;
  return vault::recovery_envelope_from_json(*json);
}

// Keys a recovery attempt made on a token, recorded before the attempt goes on, so that
// one killed half way does not leave them behind for ever: the next attempt on the same
// token destroys them first.
nlohmann::json pending_keys(const std::string& token_serial, const std::vector<vault::Bytes>& ids) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back(base64_encode(id));
  return {{"token_serial", token_serial}, {"key_ids", list}};
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Set on the cloud watch's thread: what it does there is not a client's use of the vault.
thread_local bool t_background_sync = false;

template <typename Fn>
auto in_background(Fn&& fn) {
  t_background_sync = true;
  struct Reset {
    Reset() = default;
    Reset(const Reset&) = delete;
    Reset& operator=(const Reset&) = delete;
    Reset(Reset&&) = delete;
    Reset& operator=(Reset&&) = delete;
    ~Reset() { t_background_sync = false; }
  } const reset;
  return fn();
}

}  // namespace

HolderAgent::HolderAgent(AgentConfig config)
    : config_(std::move(config)),
      consent_(config_.confirm_program, config_.confirm_timeout),
      last_use_(std::chrono::steady_clock::now()) {
  CloudWatchHost host;
  // Each takes mutex_ for itself and gives it back before the watch waits on the server.
  host.target = [this]() -> std::optional<CloudWatchTarget> {
    std::optional<CloudWatchTarget> target;
    try {
      in_background([&] {
        with_cloud_keys([&](const CloudKeys& keys) {
          if (auto link = load_cloud_link(keys.store)) {
            target = CloudWatchTarget{link->url.server, link->url.account, link->device_id,
                                      link->changes_seen};
          }
        });
      });
    } catch (const RpcError&) {
      // Locked, or no vault key: nothing to watch.
    }
    return target;
  };
  host.sign = [this](vault::ByteView message) {
    vault::Bytes signature;
    in_background([&] {
      with_cloud_keys(
          [&](const CloudKeys& keys) { signature = keys.identity_key.sign_es256(message); });
    });
    return signature;
  };
  host.sync = [this] { (void)in_background([&] { return cloud_sync(); }); };
  cloud_watch_ = std::make_unique<CloudWatch>(std::move(host));
}

HolderAgent::~HolderAgent() {
  cloud_watch_->shutdown();  // its thread calls into this agent
  std::lock_guard lock(mutex_);
  unlocked_.reset();
}

void HolderAgent::stop_background_sync() {
  cloud_watch_->shutdown();
}

void HolderAgent::start_cloud_watch() {
  if (config_.background_sync) cloud_watch_->start();
}

void HolderAgent::set_event_sink(EventSink sink) {
  std::lock_guard lock(sink_mutex_);
  sink_ = std::move(sink);
}

void HolderAgent::emit(const std::string& event, const nlohmann::json& params) {
  log(LogLevel::info, "event: " + event + " " + params.dump());
  std::lock_guard lock(sink_mutex_);
  if (sink_) sink_(event, params);
}

vault::VaultStore& HolderAgent::store() {
  if (!store_) {
    std::filesystem::create_directories(config_.store_path.parent_path());
    store_ = vault::VaultStore::open(config_.store_path, true);
  }
  return *store_;
}

std::shared_ptr<p11::Token> HolderAgent::resolve_token() {
  if (config_.module_path.empty()) {
    throw RpcError(RpcCode::bad_input, "no PKCS#11 module configured (--module)");
  }
  // Kept between calls: the token object remembers which PINs it rejected, and that
  // memory must survive a failed unlock so a wrong PIN is never sent twice.
  if (token_ && !token_->gone() && token_->present_in_slot()) return token_;
  token_ = p11::open_token(config_.token_uri, config_.module_path);
  return token_;
}

template <typename Fn>
auto HolderAgent::with_vault(Fn&& fn) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (!unlocked_) {
      if (!vault_initialised(store()))
        throw RpcError(RpcCode::not_initialised, "vault not initialised: run 'idvault init'");
      const LockRecord* record = last_lock_ ? &*last_lock_ : nullptr;
      throw RpcError(RpcCode::locked, locked_message(record), locked_data(record));
    }
    if (!t_background_sync) last_use_ = std::chrono::steady_clock::now();
    try {
      return fn(*unlocked_);
    } catch (const p11::TokenGone&) {
      lock_locked(LockReason::token_removed);
      throw;
    }
  });
}

nlohmann::json HolderAgent::status() {
  // A token may take seconds over one call (a slow card, a PIN pad); status is how a
  // client tells a busy agent from a hung one, so it must not queue behind that call.
  // Polled rather than a timed_mutex: libstdc++ waits on one with pthread_mutex_clocklock,
  // which ThreadSanitizer does not see, so every later unlock looked like a bug to it.
  std::unique_lock lock(mutex_, std::try_to_lock);
  for (int tries = 0; !lock.owns_lock() && tries < 20; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    (void)lock.try_lock();
  }
  if (!lock.owns_lock()) {
    {
      std::lock_guard last(status_mutex_);
      if (last_status_.is_object()) {
        nlohmann::json busy = last_status_;
        busy["busy"] = true;
        return busy;
      }
    }
    // Nothing seen yet: wait like any other request (status_mutex_ released first, as it
    // is only ever taken after mutex_).
    lock.lock();
  }
  nlohmann::json status = translating_errors([&] {
    nlohmann::json status = {{"initialised", vault_initialised(store())},
                             {"unlocked", unlocked_ != nullptr},
                             {"store", config_.store_path.string()},
                             {"token_uri", config_.token_uri},
                             {"module", config_.module_path.string()}};
    if (auto mode = store().setting("mode"))
      status["mode"] = std::string(mode->begin(), mode->end());
    if (auto label = store().setting("token_label"))
      status["token_label"] = std::string(label->begin(), label->end());
    if (unlocked_) status["elements"] = store().elements(false).size();
    if (!unlocked_ && last_lock_) {
      status["lock_reason"] = keyword(last_lock_->reason);
      status["locked_at"] = locked_data(&*last_lock_)["locked_at"];
    }
    return status;
  });
  std::lock_guard last(status_mutex_);
  last_status_ = status;
  return status;
}

void HolderAgent::remember_unlocked(bool unlocked) {
  std::lock_guard last(status_mutex_);
  if (!last_status_.is_object()) return;
  last_status_["unlocked"] = unlocked;
  if (unlocked) last_status_["initialised"] = true;
  if (!unlocked) last_status_.erase("elements");
}

nlohmann::json HolderAgent::tokens() {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (config_.module_path.empty())
      throw RpcError(RpcCode::bad_input, "no PKCS#11 module configured (--module)");
    auto module = p11::Module::load(config_.module_path);
    nlohmann::json list = nlohmann::json::array();
    for (const p11::TokenInfo& info : p11::list_tokens(*module)) {
      nlohmann::json entry = {{"label", info.label},
                              {"manufacturer", info.manufacturer},
                              {"model", info.model},
                              {"serial", info.serial},
                              {"uri", info.uri},
                              {"read_only", info.write_protected()},
                              {"pin_locked", info.pin_locked()},
                              {"pin_final_try", info.pin_final_try()}};
      try {
        auto token = module->token_at(info.slot);
        const p11::Capabilities caps = token->capabilities();
        entry["capabilities"] = {{"aes_key_wrap", caps.aes_key_wrap_pad && caps.unwrap},
                                 {"aes_keygen", caps.aes_keygen},
                                 {"rsa_oaep_sha1", caps.rsa_oaep_sha1},
                                 {"ecdsa", caps.ecdsa},
                                 {"ec_keygen", caps.ec_keygen},
                                 {"rsa_keygen", caps.rsa_keygen}};
        entry["vault_mode"] =
            (!caps.read_only && caps.aes_keygen && caps.aes_key_wrap_pad && caps.unwrap)
                ? "token_aes"
                : "asymmetric";
      } catch (const p11::Pkcs11Error&) {
        entry["capabilities"] = nullptr;  // gone between listing and probing
      }
      list.push_back(std::move(entry));
    }
    return list;
  });
}

void HolderAgent::become_unlocked(std::shared_ptr<p11::Token> token, p11::Login login,
                                  HolderKeys keys) {
  unlocked_.reset(
      new Unlocked{std::move(token), std::move(login), std::move(keys), nullptr, {}, nullptr});
  try {
    load_recovery_sealer();
  } catch (...) {
    unlocked_.reset();
    throw;
  }
  last_use_ = std::chrono::steady_clock::now();
  token_seen_ = true;
  remember_unlocked(true);
}

void HolderAgent::load_recovery_sealer() {
  unlocked_->recovery.reset();
  unlocked_->recovery_refused.clear();
  std::optional<vault::RecoveryEnvelope> envelope;
  try {
    envelope = recovery_envelope(store());
  } catch (const vault::FormatError& error) {
    unlocked_->recovery_refused =
        std::string("the recovery key in the store is unreadable (") + error.what() + ")";
  }
  if (envelope) {
    if (vault::recovery_envelope_signed_by(*envelope,
                                           unlocked_->keys.identity_key->public_key_spki_der())) {
      unlocked_->recovery = std::make_unique<vault::RecoverySealer>(envelope->public_key_pem);
    } else {
      unlocked_->recovery_refused = envelope->signature.empty()
                                        ? "the recovery key in the store is not signed by this "
                                          "vault's identity key (made before idvault 0.4)"
                                        : "the recovery key in the store is not signed by this "
                                          "vault's identity key: the store was altered";
    }
  }
  if (!unlocked_->recovery_refused.empty()) {
    log(LogLevel::warning, "recovery: " + unlocked_->recovery_refused +
                               "; puts are refused until recovery is added again");
  }
  unlocked_->vault = std::make_unique<vault::HolderVault>(store(), *unlocked_->keys.master_key,
                                                          unlocked_->recovery.get());
  unlocked_->vault->set_file_threads(config_.file_threads);
}

nlohmann::json HolderAgent::init(const SecretBytes& pin, bool allow_final_try,
                                 const std::optional<SecretBytes>& recovery_password) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (vault_initialised(store())) {
      throw RpcError(RpcCode::already_initialised,
                     "vault already initialised at " + config_.store_path.string());
    }
    // Checked before anything is made on the token.
    if (recovery_password) vault::check_recovery_password(*recovery_password);
    auto token = resolve_token();
    auto login = p11::Login::open(token, pin, {allow_final_try});
    HolderKeys keys = create_holder_keys(
        token, config_.force_asymmetric, {},
        config_.init_without_vault_key ? Hierarchy::master_key : Hierarchy::vault_key);
    // The envelope names and is signed by the identity key just made (so it comes after).
    std::optional<vault::RecoveryEnvelope> envelope;
    try {
      if (recovery_password)
        envelope = vault::create_recovery_envelope(*recovery_password, *keys.identity_key);
      if (envelope)
        keys.settings.insert(keys.settings.begin(),
                             {"recovery", json_bytes(vault::to_json(*envelope))});
      store().put_settings(keys.settings);
    } catch (...) {
      destroy_made_keys(keys);
      throw;
    }
    nlohmann::json result = {
        {"mode", to_string(keys.mode)},
        {"vault_key", keys.vault_key != nullptr},
        {"token", token->label()},
        {"token_uri", token->uri()},
        {"recovery", envelope.has_value()},
        {"identity_key", keys.identity_key_uri},
        {"identity_key_sha256", vault::key_fingerprint(keys.identity_key->public_key_spki_der())}};
    become_unlocked(token, std::move(login), std::move(keys));
    return result;
  });
}

nlohmann::json HolderAgent::recover(const SecretBytes& pin, const SecretBytes& recovery_password,
                                    bool allow_final_try) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (!vault_initialised(store()))
      throw RpcError(RpcCode::not_initialised, "vault not initialised: nothing to recover");
    auto envelope = recovery_envelope(store());
    if (!envelope)
      throw RpcError(RpcCode::bad_input, "this vault was made without a recovery password");
    auto opener = [&] {
      try {
        return vault::RecoveryOpener::open(*envelope, recovery_password);
      } catch (const vault::DecryptError&) {
        throw RpcError(RpcCode::bad_input, "wrong recovery password");
      }
    }();
    lock_locked(LockReason::recovering);
    auto token = resolve_token();
    auto old_serial = store().setting("token_serial");
    if (old_serial && std::string(old_serial->begin(), old_serial->end()) == token->serial()) {
      throw RpcError(RpcCode::bad_input,
                     "this is the vault's own token: unlock it instead of recovering");
    }
    auto login = p11::Login::open(token, pin, {allow_final_try});
    // Keys an earlier attempt on this token made and then was killed before it could
    // remove them.
    if (auto pending = json_setting(store(), kRecoveryPending);
        pending && pending->value("token_serial", std::string()) == token->serial()) {
      std::vector<vault::Bytes> ids;
      for (const auto& id : pending->at("key_ids"))
        ids.push_back(base64_decode(id.get<std::string>(), "recovery_pending.key_id"));
      destroy_keys_with_ids(token, ids);
      store().remove_setting(kRecoveryPending);
    }
    // The keys' ids are recorded before the token makes them, so no kill leaves a key
    // the next attempt cannot find.
    HolderKeys keys = create_holder_keys(
        token, config_.force_asymmetric, [&](const std::vector<vault::Bytes>& ids) {
          store().put_setting(kRecoveryPending, json_bytes(pending_keys(token->serial(), ids)));
        });
    std::size_t moved = 0;
    try {
      // The identity keys the vault had: the one the envelope names (the recovery
      // password authenticated it) and those its history, signed by that one, lists.
      std::vector<vault::Bytes> earlier;
      if (!envelope->identity_key_spki_der.empty()) {
        if (auto history = json_setting(store(), kIdentityKeyHistory)) {
          earlier = vault::earlier_identity_keys(*history, envelope->identity_key_spki_der);
        }
        earlier.push_back(envelope->identity_key_spki_der);
      }
      auto settings = keys.settings;
      settings.emplace_back(
          kIdentityKeyHistory,
          text_bytes(vault::sign_identity_key_history(earlier, *keys.identity_key).dump()));
      // The same recovery key and password, now vouched for by the new identity key.
      settings.emplace_back("recovery", json_bytes(vault::to_json(opener.reseal(
                                            recovery_password, *envelope, *keys.identity_key))));
      // The new token has a vault key of its own: the keys the vault had (a VK this token
      // holds no slot for, or an older vault's master key) are left behind with the old
      // token's settings, except the names the new keys write again.
      std::vector<std::string> removed;
      for (std::string& name : key_setting_names()) {
        if (std::none_of(settings.begin(), settings.end(),
                         [&](const auto& setting) { return setting.first == name; }))
          removed.push_back(std::move(name));
      }
      removed.emplace_back(kRecoveryPending);
      moved = vault::rewrap_with_recovery(store(), opener, *keys.master_key, std::move(settings),
                                          std::move(removed));
    } catch (...) {
      destroy_made_keys(keys);
      try {
        store().remove_setting(kRecoveryPending);
      } catch (...) {
        // the next attempt finds the record and cleans up then
      }
      throw;
    }
    nlohmann::json result = {
        {"recovered", true},
        {"secrets", moved},
        {"mode", to_string(keys.mode)},
        {"token", token->label()},
        {"token_uri", token->uri()},
        {"identity_key_sha256", vault::key_fingerprint(keys.identity_key->public_key_spki_der())}};
    become_unlocked(token, std::move(login), std::move(keys));
    start_cloud_watch();  // a vault in a cloud account follows it from now on
    return result;
  });
}

nlohmann::json HolderAgent::add_recovery(const SecretBytes& recovery_password) {
  return with_vault([&](Unlocked& state) -> nlohmann::json {
    vault::check_recovery_password(recovery_password);
    const bool had = store().setting("recovery").has_value();
    vault::RecoveryEnvelope envelope =
        vault::create_recovery_envelope(recovery_password, *state.keys.identity_key);
    vault::RecoverySealer sealer(envelope.public_key_pem);
    std::size_t sealed =
        vault::seal_for_recovery(store(), *state.keys.master_key, sealer,
                                 {{"recovery", json_bytes(vault::to_json(envelope))}});
    load_recovery_sealer();
    return {{"recovery", true}, {"replaced", had}, {"secrets", sealed}};
  });
}

nlohmann::json HolderAgent::unlock(const SecretBytes& pin, bool allow_final_try) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    if (!vault_initialised(store()))
      throw RpcError(RpcCode::not_initialised, "vault not initialised: run 'idvault init'");
    if (unlocked_) return nlohmann::json{{"unlocked", true}, {"already", true}};
    auto token = resolve_token();
    auto login = p11::Login::open(token, pin, {allow_final_try});
    HolderKeys keys;
    try {
      keys = open_holder_keys(token, store());
    } catch (const p11::Pkcs11Error&) {
      throw;
    } catch (const std::runtime_error& error) {
      throw RpcError(RpcCode::bad_input, error.what());
    }
    become_unlocked(token, std::move(login), std::move(keys));
    start_cloud_watch();  // a vault in a cloud account follows it from now on
    return nlohmann::json{
        {"unlocked", true}, {"mode", to_string(unlocked_->keys.mode)}, {"token", token->label()}};
  });
}

void HolderAgent::lock_locked(LockReason reason) {
  pending_join_.reset();  // its login too: a lock logs out of the token, whatever it was for
  if (!unlocked_) return;
  // Before the logout, without waiting: a long poll ends at once, and a sync that is
  // running finds the vault locked when it next asks for it.
  cloud_watch_->stop();
  last_lock_ = LockRecord{reason, std::chrono::system_clock::now(), config_.idle_timeout};
  // The vault key goes first, while the token is still logged in: VK's session object is
  // destroyed by this process (not left to the logout), or its memory wiped.
  unlocked_->vault.reset();
  unlocked_->keys.vault_key = nullptr;
  unlocked_->keys.master_key.reset();
  // Destroying the login logs out of the token and drops its sessions: the token's
  // login state, not just our copy of a key, ends here.
  unlocked_.reset();
  remember_unlocked(false);
  emit("locked", {{"reason", event_text(reason)}});
}

nlohmann::json HolderAgent::lock(LockReason reason) {
  std::lock_guard lock(mutex_);
  bool was_unlocked = unlocked_ != nullptr;
  lock_locked(reason);
  return {{"locked", true}, {"was_unlocked", was_unlocked}};
}

nlohmann::json HolderAgent::adopt_vault_key() {
  return with_vault([&](Unlocked& state) -> nlohmann::json {
    if (state.keys.vault_key != nullptr || vault_key_adopted(store()))
      throw RpcError(RpcCode::bad_input, "this vault already has a vault key");
    const std::size_t moved = agent::adopt_vault_key(state.token, store(), state.keys);
    // The vault's HolderVault wrapped with the master key, which is gone: a new one on VK.
    load_recovery_sealer();
    return {{"vault_key", true},
            {"secrets", moved},
            {"mode", to_string(state.keys.mode)},
            {"slot_key_sha256", vault::key_fingerprint(state.keys.slot_public_key_spki_der)}};
  });
}

void HolderAgent::with_unlocked_keys(
    const std::function<void(HolderKeys&, const std::shared_ptr<p11::Token>&, vault::VaultStore&)>&
        fn) {
  with_vault([&](Unlocked& state) {
    try {
      fn(state.keys, state.token, store());
    } catch (...) {
      load_recovery_sealer();  // the keys may have moved before the failure
      throw;
    }
    load_recovery_sealer();
    return 0;
  });
}

bool HolderAgent::vault_key_in_use() {
  return with_vault([&](Unlocked& state) { return state.keys.vault_key != nullptr; });
}

void HolderAgent::with_cloud_keys(const std::function<void(const CloudKeys&)>& fn) {
  with_vault([&](Unlocked& state) {
    if (state.keys.vault_key == nullptr) {
      throw RpcError(RpcCode::bad_input,
                     "this vault has no vault key yet: run 'idvault cloud init' first");
    }
    fn(CloudKeys{*state.keys.vault_key, *state.keys.identity_key,
                 state.keys.slot_public_key_spki_der, store()});
    return 0;
  });
}

void HolderAgent::put(vault::PlainElement&& element) {
  put(std::move(element), {});
}

void HolderAgent::put(vault::PlainElement&& element, const vault::HolderVault::PutHooks& hooks) {
  with_vault([&](Unlocked& state) {
    if (!state.recovery_refused.empty()) {
      throw RpcError(RpcCode::bad_input, state.recovery_refused +
                                             ": nothing is stored until recovery is set again "
                                             "with 'idvault recovery add'");
    }
    state.vault->put(std::move(element), hooks);
    return 0;
  });
  cloud_watch_->changed();  // pushed soon, in the background
}

nlohmann::json HolderAgent::get(vault::ElementType type) {
  return with_vault([&](Unlocked& state) {
    auto element = state.vault->get(type);
    if (!element)
      throw RpcError(RpcCode::not_found,
                     std::string("no ") + std::string(vault::to_string(type)) + " in the vault");
    nlohmann::json json = element_to_json(*element);
    for (const auto& summary : state.vault->list()) {
      if (summary.type == type) json["errors"] = summary_to_json(summary)["errors"];
    }
    return json;
  });
}

nlohmann::json HolderAgent::list() {
  return with_vault([&](Unlocked& state) {
    nlohmann::json list = nlohmann::json::array();
    const auto conflicts = stored_conflicts(store());
    for (const auto& summary : state.vault->list()) {
      nlohmann::json entry = summary_to_json(summary);
      // A field two devices changed differently: both values, until 'idvault resolve'.
      if (auto found = conflicts.find(summary.type); found != conflicts.end()) {
        entry["conflicts"] = nlohmann::json::array();
        for (const auto& conflict : found->second) {
          entry["conflicts"].push_back(
              {{"field", conflict.field}, {"local", conflict.local}, {"remote", conflict.remote}});
        }
      }
      list.push_back(std::move(entry));
    }
    return list;
  });
}

bool HolderAgent::remove(vault::ElementType type) {
  const bool removed = with_vault([&](Unlocked& state) { return state.vault->remove(type); });
  if (removed) cloud_watch_->changed();
  return removed;
}

nlohmann::json HolderAgent::authorize(const std::string& link) {
  return authorize(link, -1);
}

nlohmann::json HolderAgent::authorize(const std::string& link, int out) {
  vault::AuthorizationRequest request =
      translating_errors([&] { return vault::parse_authorization_link(link); });
  const KnownServiceKeys known_keys(known_service_keys_path(config_.store_path));
  std::optional<std::string> known_key;
  vault::ShareOffer offer = with_vault([&](Unlocked& state) {
    known_key = known_keys.key_for(request.service_id);
    return state.vault->plan_share(request);
  });
  if (offer.types.empty()) {
    throw RpcError(RpcCode::not_found, "the vault holds nothing this service asks for",
                   offer_to_json(offer));
  }
  // Asked without holding the lock: a person may take a minute, and status, lock and
  // other clients must not wait for them. What changes meanwhile is not shared
  // (HolderVault::share checks the versions of the offer).
  const ConsentRequest consent = share_consent(request, offer, known_key);
  const nlohmann::json key_facts = {
      {"service_key_sha256", consent.details["service_key_sha256"]},
      {"service_key_history", consent.details["service_key_history"]}};
  if (!consent_.configured()) {
    throw RpcError(RpcCode::consent_refused,
                   "no consent prompt configured (--confirm-program): nothing shared", key_facts);
  }
  if (!consent_.ask(consent)) {
    throw RpcError(RpcCode::consent_refused, "the holder did not consent: nothing shared",
                   key_facts);
  }
  cloud_watch_->changed();  // the receipt, once the share below is made
  return with_vault([&](Unlocked& state) {
    std::optional<vault::AccountProof> proof =
        account_proof(store(), state.keys.identity_key->public_key_spki_der());
    vault::ShareBundle bundle =
        state.vault->share(request, offer, *state.keys.identity_key, unix_now());
    bundle.account = std::move(proof);
    // The holder said yes to this key for this service: later links are compared with it.
    const std::string key = key_facts["service_key_sha256"];
    try {
      if (known_key != key) known_keys.remember(request.service_id, key);
    } catch (const std::runtime_error& error) {
      log(LogLevel::warning, std::string("cannot remember the service's key: ") + error.what());
    }
    nlohmann::json result = {{"offer", offer_to_json(offer)},
                             {"service_id", request.service_id},
                             {"nonce", request.nonce}};
    result.update(key_facts);
    if (out >= 0) {
      result["bundle_bytes"] = write_bundle(out, std::move(bundle).to_json());
    } else {
      result["bundle"] = moved_into_answer(std::move(bundle).to_json());
    }
    if (request.callback_url) result["callback_url"] = *request.callback_url;
    return result;
  });
}

nlohmann::json HolderAgent::shares(bool verify) {
  std::lock_guard lock(mutex_);
  return translating_errors([&] {
    // Which device made each share needs the identity key on the token (this vault's)
    // and the account log kept at the last sync (the others'); locked, it is not said.
    std::optional<ReceiptSigners> signers;
    if (unlocked_) signers = receipt_signers(store(), *unlocked_->keys.identity_key);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& stored : store().receipts()) {
      nlohmann::json receipt = nlohmann::json::parse(stored.receipt_json);
      nlohmann::json share = {
          {"sequence", stored.sequence},
          {"id", std::string(stored.entry_hash.begin(), stored.entry_hash.end())},
          {"previous", std::string(stored.previous_hash.begin(), stored.previous_hash.end())},
          {"receipt", receipt}};
      if (signers) {
        const ReceiptSigner* signer = nullptr;
        try {
          signer = signers->find(vault::receipt_from_json(receipt).public_key_spki_der);
        } catch (const vault::FormatError&) {  // unreadable: --verify says so
        }
        share["this_device"] = signer != nullptr && signer->this_vault;
        if (signer != nullptr && !signer->device_id.empty()) share["device_id"] = signer->device_id;
      }
      list.push_back(std::move(share));
    }
    nlohmann::json result = {{"shares", list}};
    if (unlocked_) {
      result["identity_key_sha256"] =
          vault::key_fingerprint(unlocked_->keys.identity_key->public_key_spki_der());
    }
    if (verify) {
      // The log is in the store, which anyone with the user's files can rewrite: every
      // receipt must be signed by the identity key the token holds (or one it had before
      // recovery, listed in a history that key signed) or, in an account, by a device the
      // account log lists, not just by the key inside it.
      if (!signers) {
        throw RpcError(
            RpcCode::locked,
            "verifying the receipt log needs the identity key on the token: run 'idvault unlock'");
      }
      const std::vector<vault::Bytes> keys = signers->keys();
      vault::ReceiptChainReport report = vault::verify_receipt_chain(store(), keys);
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& problem : report.problems)
        problems.push_back({{"sequence", problem.sequence}, {"reason", problem.reason}});
      const auto own = std::count_if(signers->signers.begin(), signers->signers.end(),
                                     [](const ReceiptSigner& signer) { return signer.this_vault; });
      result["verified"] = {{"valid", report.valid},
                            {"count", report.count},
                            {"heads", report.heads},
                            {"reason", report.reason},
                            {"problems", problems},
                            {"identity_keys", own},
                            {"device_keys", keys.size() - static_cast<std::size_t>(own)}};
      if (!signers->account_problem.empty())
        result["verified"]["account_problem"] = signers->account_problem;
      if (report.first_bad_sequence)
        result["verified"]["first_bad_sequence"] = *report.first_bad_sequence;
    }
    return result;
  });
}

nlohmann::json HolderAgent::add_attestation(const nlohmann::json& attestation) {
  cloud_watch_->changed();  // debounced: pushed after the attestation is kept
  return with_vault([&](Unlocked& state) -> nlohmann::json {
    // Checked before it is kept, so the holder never carries a forged or foreign one
    // along with their documents: it must read, be signed, name this holder's identity
    // key (or, in a cloud account, the account) and an element the vault holds.
    vault::Attestation parsed = vault::attestation_from_json(attestation);
    if (!vault::verify_attestation_signature(parsed)) {
      throw RpcError(RpcCode::bad_input, "attestation: the signature does not verify");
    }
    const std::optional<CloudLink> link = load_cloud_link(store());
    if (parsed.claims.holder_key_sha256 !=
            vault::key_fingerprint(state.keys.identity_key->public_key_spki_der()) &&
        (!link || parsed.claims.holder_key_sha256 != link->url.account)) {
      throw RpcError(RpcCode::bad_input,
                     link ? "attestation: issued to neither this account nor this device's key"
                          : "attestation: issued to another holder's identity key");
    }
    if (!store().element(parsed.claims.element_type, false)) {
      throw RpcError(RpcCode::not_found,
                     "attestation: the vault holds no " +
                         std::string(vault::to_string(parsed.claims.element_type)));
    }
    return {{"id", store().add_attestation(parsed.claims.element_type, attestation.dump())},
            {"element_type", vault::to_string(parsed.claims.element_type)}};
  });
}

nlohmann::json HolderAgent::attestations() {
  return with_vault([&](Unlocked&) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& note : store().attestations())
      list.push_back(nlohmann::json::parse(note.json));
    return list;
  });
}

nlohmann::json HolderAgent::add_element_errors(const nlohmann::json& signed_errors) {
  cloud_watch_->changed();  // debounced: pushed after the errors are kept
  return with_vault([&](Unlocked&) -> nlohmann::json {
    vault::SignedElementErrors parsed = vault::signed_element_errors_from_json(signed_errors);
    // Only the service a share went to may tell the holder what to fix in it: anyone who
    // saw the request link could otherwise plant "errors" to make the holder resend.
    std::optional<vault::ShareReceipt> receipt;
    for (const auto& stored : store().receipts()) {
      auto candidate = vault::receipt_from_json(nlohmann::json::parse(stored.receipt_json));
      if (candidate.fields.nonce == parsed.notice.nonce &&
          candidate.fields.credentials_hash == parsed.notice.credentials_hash) {
        receipt = std::move(candidate);
      }
    }
    if (!receipt)
      throw RpcError(RpcCode::not_found, "errors: no share with this nonce in the receipt log");
    if (!vault::verify_element_errors(parsed, receipt->fields.service_key_sha256)) {
      throw RpcError(RpcCode::bad_input, "errors: not signed by the service the share went to");
    }
    // Even that service may speak only of what it received: each error must name an element
    // of this share, by that element's own hashes. The list is judged whole before any of
    // it is kept, so a refused list leaves nothing behind.
    std::vector<const vault::PassportElementError*> current;
    for (std::size_t i = 0; i < parsed.notice.errors.size(); ++i) {
      const vault::PassportElementError& error = parsed.notice.errors[i];
      const std::string where = "errors[" + std::to_string(i) + "]";
      if (vault::fit_error_to_share(error, receipt->fields, store().element(error.type, false),
                                    where) == vault::ErrorFit::current) {
        current.push_back(&error);
      }
    }
    nlohmann::json stored = nlohmann::json::array();
    for (const vault::PassportElementError* error : current) {
      const std::string text = nlohmann::json(vault::to_json(*error)).dump();
      stored.push_back({{"id", store().add_element_error(error->type, text)},
                        {"type", vault::to_string(error->type)}});
    }
    return {{"stored", stored}, {"service_id", receipt->fields.service_id}};
  });
}

void HolderAgent::watch() {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // busy with a request: the token is evidently in use
  try {
    if (unlocked_) {
      if (unlocked_->token->gone() || !unlocked_->token->present_in_slot()) {
        unlocked_->token->mark_gone();
        lock_locked(LockReason::token_removed);
        emit("token_removed", {{"token", config_.token_uri}});
        token_seen_ = false;
        return;
      }
      if (config_.idle_timeout.count() > 0 &&
          std::chrono::steady_clock::now() - last_use_ > config_.idle_timeout) {
        lock_locked(LockReason::idle_timeout);
      }
      return;
    }
    if (config_.module_path.empty()) return;
    bool present = false;
    try {
      (void)p11::open_token(config_.token_uri, config_.module_path);
      present = true;
    } catch (const p11::Pkcs11Error&) {
      present = false;
    }
    if (present != token_seen_) {
      token_seen_ = present;
      emit(present ? "token_inserted" : "token_removed", {{"token", config_.token_uri}});
    }
  } catch (...) {
    // The watcher must outlive any token misbehaviour; the next tick tries again.
  }
}

}  // namespace idvault::agent
