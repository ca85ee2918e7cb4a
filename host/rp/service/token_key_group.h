// TokenKeyGroup: the service key (decryption and error signatures) and the seal key on
// one or more HSM tokens, kept working through what tokens do under a long-running service.
//
// Each URI names the same RSA key on a different token: clones, as an HA group of HSMs
// holds them (one URI is the plain one-HSM case). At start every token is opened and
// logged in; their public keys must be the same (KeyMismatch otherwise). A token that
// cannot be opened at start is set aside like one that went away later.
//
// Operations spread over the tokens in use, round robin. What a failure says decides
// what happens next (pkcs11 ErrorClass), within one bounded retry budget per operation:
//   reopen_session  (SESSION_HANDLE_INVALID, SESSION_CLOSED) the failed lease closed its
//                   session already: try again, on a fresh one
//   relogin         (USER_NOT_LOGGED_IN) that token is opened and logged in again with
//                   the PIN the group keeps, then the operation runs again
//   reinitialize    (CRYPTOKI_NOT_INITIALIZED) the module gets C_Initialize again, every
//                   token of it is found anew and logged in again
//   retry           (SESSION_COUNT, DEVICE_MEMORY, ...) back off with jitter, try again
//   token_gone, fatal   (DEVICE_REMOVED, TOKEN_NOT_PRESENT, ...) the token is set aside
//                   and the operation goes to another; when none is left in use, every
//                   set-aside token is tried at once (a token back after a brief removal
//                   is found again in the same request)
// Anything else (a ciphertext the key refuses: DecryptError) is the caller's at once.
//
// The retry budget: at most kAttempts (6) tries of one operation over all tokens, with
// back-off (25 ms doubling to 400 ms, times a jitter of 0.5 to 1.5) only after a retry
// class error or when no token is in use, so under 2 s of sleeping in the worst case.
// The PKCS#11 layer itself runs a decryption or signature once more on a fresh session
// after a session error (once_more_on_a_fresh_session), so one operation makes at most 12
// Cryptoki attempts. Past the budget the last error is thrown (a p11::Pkcs11Error: the
// service answers 503).
//
// A set-aside token is tried again every probe_interval by a thread of the group's own
// and taken back when it opens, logs in and has the same public key; one that refused
// the PIN (or has it locked) is never tried again. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/secret_bytes.h"
#include "host/http/metrics.h"
#include "vault/keys/keys.h"
#include "vault/signed/element_error_signature.h"

namespace idvault::p11 {
class Module;
}

namespace idvault::rp {

struct KeyGroupOptions {
  // How often a set-aside token is tried again.
  std::chrono::milliseconds probe_interval{2000};
  // Per token (label token="<its URI>"): idvault_rp_hsm_token_operations_total,
  // idvault_rp_hsm_token_set_aside_total and idvault_rp_hsm_token_up. Unset: none.
  http::MetricsRegistry* metrics = nullptr;
  // Told when a token is set aside or taken back (serve: standard error). Unset: silent.
  std::function<void(const std::string&)> log;
  // The AES seal key on each token (ServiceToken::seal_key: empty, the one labelled
  // idvault-rp-seal). Like the service key, a clone on every token of the group.
  std::string seal_key_uri;
};

// The tokens named hold different keys.
class KeyMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TokenKeyGroup final : public vault::ServiceKey,
                            public vault::ErrorSigningKey,
                            public vault::MasterKey {
 public:
  static constexpr int kAttempts = 6;

  // Throws what ServiceToken::open throws (for the first URI) when no token opens,
  // KeyMismatch when two tokens' public keys differ, std::invalid_argument without URIs.
  TokenKeyGroup(std::filesystem::path module, const std::vector<std::string>& key_uris,
                SecretBytes pin, KeyGroupOptions options = {});
  ~TokenKeyGroup() override;
  TokenKeyGroup(const TokenKeyGroup&) = delete;  // owns the probing thread
  TokenKeyGroup& operator=(const TokenKeyGroup&) = delete;
  TokenKeyGroup(TokenKeyGroup&&) = delete;  // the thread holds this
  TokenKeyGroup& operator=(TokenKeyGroup&&) = delete;

  [[nodiscard]] SecretBytes decrypt_oaep_sha1(vault::ByteView ciphertext) const override;
  [[nodiscard]] std::string public_key_pem() const override { return public_key_pem_; }
  [[nodiscard]] vault::Bytes sign_pss_sha256(vault::ByteView message) const override;
  [[nodiscard]] vault::Bytes public_key_spki_der() const override { return spki_der_; }
  // The seal key (results at rest, result_sealer.h): AES-GCM (or key wrap) on a token of
  // the group, with the same recovery and retry budget as a decryption.
  [[nodiscard]] vault::Bytes wrap(const SecretBytes& secret) const override;
  [[nodiscard]] SecretBytes unwrap(vault::ByteView wrapped) const override;

  // At least one token in use and present in its slot (GET /healthz). Never throws.
  [[nodiscard]] bool answers() const noexcept;
  // Tokens in use now (not set aside).
  [[nodiscard]] std::size_t tokens_in_use() const noexcept;

 private:
  struct Live;
  struct Member;
  struct Picked {
    Member* member = nullptr;
    std::shared_ptr<const Live> live;
  };

  template <typename Operation>
  auto run(const char* operation, Operation&& op) const;
  Picked pick() const;
  std::shared_ptr<const Live> rebuild(Member& member, const Live* stale, bool reinitialize) const;
  void set_aside(Member& member, const Live* stale, const std::string& why) const;
  void say(const std::string& message) const;
  void probe_loop();

  std::filesystem::path module_;
  // Held for the group's life: without it, setting aside the last token in use would
  // finalize and unload the library, and finding it again would load it anew.
  std::vector<std::shared_ptr<p11::Module>> loaded_;
  SecretBytes pin_;
  KeyGroupOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  std::string public_key_pem_;
  vault::Bytes spki_der_;
  mutable std::atomic<std::size_t> next_{0};

  std::mutex probe_mutex_;
  std::condition_variable probe_wake_;
  bool stopping_ = false;
  std::thread prober_;
};

}  // namespace idvault::rp
