// The holder's agent: one vault, one token, and the rules of ssh-agent/gpg-agent for
// keeping them — unlock logs in to the token, lock and idle time-out log out and close
// its sessions (not just forget a PIN), removal of the token locks the vault, and a
// share happens only after the configured prompt program said yes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "host/agent/consent_prompt.h"
#include "host/agent/holder_keys.h"
#include "host/agent/lock_reason.h"
#include "pkcs11/login.h"
#include "pkcs11/module.h"
#include "vault/store/holder_vault.h"
#include "vault/sync/element_merge.h"

namespace idvault::agent {

struct PendingJoin;
class CloudWatch;

struct AgentConfig {
  std::filesystem::path store_path;
  std::filesystem::path module_path;
  std::string token_uri = "pkcs11:";
  std::string confirm_program;
  std::chrono::seconds confirm_timeout{120};
  std::chrono::seconds idle_timeout{0};  // 0: no idle lock
  bool force_asymmetric = false;
  // Make new vaults in the layout of before VK came at init (holder_keys.h, Hierarchy):
  // what upgrade tests need, a vault that `cloud init` must convert.
  bool init_without_vault_key = false;
  unsigned file_threads = 2;  // files of one put encrypted at once (HolderVault::set_file_threads)
  // Sync with the cloud account in the background while unlocked (cloud_watch.h), not
  // only on cloud_sync. idvault-agent turns it on unless --no-background-sync.
  bool background_sync = false;
};

class HolderAgent {
 public:
  using EventSink = std::function<void(const std::string& event, const nlohmann::json& params)>;

  explicit HolderAgent(AgentConfig config);
  ~HolderAgent();
  HolderAgent(const HolderAgent&) = delete;  // owns a token login
  HolderAgent& operator=(const HolderAgent&) = delete;

  void set_event_sink(EventSink sink);

  // Does not wait for a slow token call: if another operation holds the vault for long,
  // answers with what it last saw plus "busy": true.
  [[nodiscard]] nlohmann::json status();
  [[nodiscard]] nlohmann::json tokens();
  // recovery_password: when given, the vault can later be recovered onto a new token.
  [[nodiscard]] nlohmann::json init(const SecretBytes& pin, bool allow_final_try,
                                    const std::optional<SecretBytes>& recovery_password);
  // Re-enrols the vault on the configured token (a new one) using the recovery password;
  // the vault stays unlocked on it.
  [[nodiscard]] nlohmann::json recover(const SecretBytes& pin, const SecretBytes& recovery_password,
                                       bool allow_final_try);
  [[nodiscard]] nlohmann::json unlock(const SecretBytes& pin, bool allow_final_try);
  // Seals every value secret to a new recovery key under this password (replacing any
  // recovery key the vault had) and signs its envelope with the identity key, in one
  // transaction. Needs the vault unlocked.
  [[nodiscard]] nlohmann::json add_recovery(const SecretBytes& recovery_password);
  [[nodiscard]] nlohmann::json lock(LockReason reason);

  // Makes the unlocked vault cloud-keyed (holder_keys.h, adopt_vault_key): a slot key for
  // this device, a new vault key VK sealed to it, every value secret re-wrapped from the
  // master key to VK in one transaction (no file re-encrypted). The vault stays unlocked,
  // now under VK. Returns {"vault_key": true, "secrets", "mode", "slot_key_sha256"}.
  [[nodiscard]] nlohmann::json adopt_vault_key();

  // The keys of an unlocked cloud-keyed vault, for code that talks to the account (sync,
  // approving devices): valid only during the call that hands them out.
  struct CloudKeys {
    vault::VaultKey& vault_key;
    const vault::SigningKey& identity_key;
    const vault::Bytes& slot_public_key_spki_der;  // this device's slot key
    vault::VaultStore& store;
  };
  // Runs fn with them under the agent's lock (no other request runs meanwhile). Throws
  // RpcError: locked / not_initialised, or bad_input when the vault has no vault key.
  // What fn throws goes on as translated errors (rpc_errors.h).
  void with_cloud_keys(const std::function<void(const CloudKeys&)>& fn);

  // Takes the element's files without copying them (scans are megabytes).
  void put(vault::PlainElement&& element);
  // The same with files still to be read or progress reported (HolderVault::PutHooks).
  void put(vault::PlainElement&& element, const vault::HolderVault::PutHooks& hooks);
  [[nodiscard]] nlohmann::json get(vault::ElementType type);
  [[nodiscard]] nlohmann::json list();
  [[nodiscard]] bool remove(vault::ElementType type);

  // Parses the link, asks the prompt program, and returns {"bundle", "offer", ...}.
  [[nodiscard]] nlohmann::json authorize(const std::string& link);
  // The same, writing the bundle to `out` (a file the client passed) instead of putting
  // it in the answer, which then says how many bytes were written.
  [[nodiscard]] nlohmann::json authorize(const std::string& link, int out);
  [[nodiscard]] nlohmann::json shares(bool verify);
  [[nodiscard]] nlohmann::json add_attestation(const nlohmann::json& attestation);
  [[nodiscard]] nlohmann::json attestations();
  // A service's signed PassportElementError list about a share this holder made: kept
  // only if it is signed by the key of the service that share went to (found by the
  // receipt with that nonce and credentials hash). Each error shows until its element
  // changes.
  [[nodiscard]] nlohmann::json add_element_errors(const nlohmann::json& signed_errors);

  // The cloud (docs/CLOUD.md; holder_agent_cloud.cpp). cloud_init puts the unlocked vault
  // in a new account on the server (adopting a vault key first if it has none), with two
  // ways to unlock: this token and the recovery code. cloud_join, on a token and store
  // with no vault, asks to join an account and returns the digits to compare;
  // cloud_join_finish completes it once an enrolled device approved ({"status"}).
  [[nodiscard]] nlohmann::json cloud_init(const std::string& server_url,
                                          const SecretBytes& recovery_code,
                                          const std::string& device_name);
  [[nodiscard]] nlohmann::json cloud_join(const std::string& account_url, const SecretBytes& pin,
                                          bool allow_final_try, const std::string& device_name);
  [[nodiscard]] nlohmann::json cloud_join_finish();
  // On a token and store with no vault, with nothing but the server and the recovery
  // code: enrols this device in the account by the recovery key and pulls every element.
  [[nodiscard]] nlohmann::json cloud_recover(const std::string& account_url,
                                             const SecretBytes& recovery_code,
                                             const SecretBytes& pin, bool allow_final_try,
                                             const std::string& device_name);
  [[nodiscard]] nlohmann::json devices();
  [[nodiscard]] nlohmann::json approve_device(const std::string& request_id);
  // Revokes another device of the account: a device-revoke and a key-rotate entry, a new
  // VK sealed to every remaining slot, this vault moved to it and every element item
  // sealed again under it (no file re-encrypted). The other devices follow the rotation
  // at their next sync; the revoked one is refused by the server from then on.
  [[nodiscard]] nlohmann::json revoke_device(const std::string& device_id);
  [[nodiscard]] nlohmann::json cloud_sync();
  // Ends background sync for good and waits for its thread (before the event sink goes).
  void stop_background_sync();
  [[nodiscard]] nlohmann::json resolve(vault::ElementType type,
                                       const std::optional<std::string>& field, vault::Take take);

  // Called about once a second: notices a removed or returned token and the idle
  // time-out. Never throws.
  void watch();

 private:
  struct Unlocked;
  // Runs fn on the unlocked vault; RpcError(locked / not_initialised) otherwise, the
  // locked one saying why and when (last_lock_).
  // A call from the background sync's thread is not a use: it does not put off the idle
  // lock.
  template <typename Fn>
  auto with_vault(Fn&& fn);
  void lock_locked(LockReason reason);  // mutex_ held
  bool vault_key_in_use();              // unlocked and under VK (takes mutex_)
  // Runs fn with the unlocked vault's keys, its token and store under mutex_, then
  // rebuilds the vault on whatever key keys then hold (a key rotation changes it).
  void with_unlocked_keys(const std::function<void(HolderKeys&, const std::shared_ptr<p11::Token>&,
                                                   vault::VaultStore&)>& fn);
  nlohmann::json finish_join_locked();  // cloud_join_finish's part under mutex_
  nlohmann::json recover_locked(const std::string& account_url, const SecretBytes& recovery_code,
                                const SecretBytes& pin, bool allow_final_try,
                                const std::string& device_name);  // cloud_recover's, mutex_
  void become_unlocked(std::shared_ptr<p11::Token> token, p11::Login login,
                       HolderKeys keys);  // mutex_ held
  // mutex_ held, unlocked_ set: checks the stored envelope's signature
  void load_recovery_sealer();
  vault::VaultStore& store();                   // mutex_ held
  std::shared_ptr<p11::Token> resolve_token();  // mutex_ held
  void emit(const std::string& event, const nlohmann::json& params);
  void start_cloud_watch();  // when background sync is on

  AgentConfig config_;
  ConsentPrompt consent_;
  // Held for every vault and token operation, which can take as long as the token does.
  std::mutex mutex_;
  // What status last saw, for answering status while a slow token call holds mutex_.
  std::mutex status_mutex_;
  nlohmann::json last_status_;
  void remember_unlocked(bool unlocked);
  std::unique_ptr<vault::VaultStore> store_;
  std::shared_ptr<p11::Token> token_;
  std::unique_ptr<Unlocked> unlocked_;
  std::unique_ptr<PendingJoin> pending_join_;  // a cloud join waiting for approval
  std::chrono::steady_clock::time_point last_use_;
  std::optional<LockRecord> last_lock_;  // why and when the vault last locked
  bool token_seen_ = false;
  std::mutex sink_mutex_;
  EventSink sink_;
  // Background sync (cloud_watch.h): takes mutex_ itself, never holds it over a wait.
  std::unique_ptr<CloudWatch> cloud_watch_;
};

}  // namespace idvault::agent
