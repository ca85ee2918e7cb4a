#include "host/rp/service/token_key_group.h"

#include <algorithm>
#include <exception>
#include <random>

#include "host/rp/service/service_token.h"
#include "pkcs11/error.h"
#include "pkcs11/module.h"
#include "pkcs11/token.h"

namespace idvault::rp {

// One token's open session state: the token found, logged in, and the key's objects.
// Shared by the operations running on it, so a rebuild never pulls it from under them.
struct TokenKeyGroup::Live {
  Live(const std::filesystem::path& module, const std::string& uri, const SecretBytes& pin,
       const std::string& seal_key_uri)
      : token(ServiceToken::open(module, uri, pin)),
        key(token.service_key(uri)),
        signer(token, uri),
        seal(token.seal_key(seal_key_uri)) {}
  ServiceToken token;
  vault::TokenServiceKey key;
  TokenErrorSigningKey signer;
  vault::TokenMasterKey seal;
};

struct TokenKeyGroup::Member {
  std::string uri;
  std::mutex mutex;                  // guards live
  std::shared_ptr<const Live> live;  // null while set aside
  std::mutex rebuild_mutex;          // one rebuild of this token at a time
  // The token refused the PIN (or locked it): never tried again, so a wrong PIN is not
  // sent every probe interval until the token locks.
  std::atomic<bool> pin_refused{false};
  http::Counter* operations = nullptr;
  http::Counter* set_aside = nullptr;
  http::Gauge* up = nullptr;
};

namespace {

// 25 ms doubling to 400 ms, times a jitter of 0.5 to 1.5, so workers that hit the same
// limit together do not come back together.
void back_off(int round) {
  thread_local std::minstd_rand random(std::random_device{}());
  const double base = 25.0 * static_cast<double>(1 << std::min(round, 4));
  const double jitter = 0.5 + std::uniform_real_distribution<double>(0.0, 1.0)(random);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(base * jitter));
}

bool is_pin_refusal(const p11::Pkcs11Error& e) {
  return e.kind() == p11::ErrorKind::pin_incorrect || e.kind() == p11::ErrorKind::pin_locked ||
         e.kind() == p11::ErrorKind::final_try_refused;
}

}  // namespace

TokenKeyGroup::TokenKeyGroup(std::filesystem::path module, const std::vector<std::string>& key_uris,
                             SecretBytes pin, KeyGroupOptions options)
    : module_(std::move(module)), pin_(std::move(pin)), options_(std::move(options)) {
  if (key_uris.empty()) throw std::invalid_argument("a key group needs at least one key URI");
  http::Family<http::Counter>* operations = nullptr;
  http::Family<http::Counter>* set_aside = nullptr;
  http::Family<http::Gauge>* up = nullptr;
  if (options_.metrics != nullptr) {
    operations = &options_.metrics->counter("idvault_rp_hsm_token_operations_total",
                                            "HSM operations done, by token", {"token"});
    set_aside = &options_.metrics->counter("idvault_rp_hsm_token_set_aside_total",
                                           "Times a token was set aside", {"token"});
    up =
        &options_.metrics->gauge("idvault_rp_hsm_token_up", "1 while a token is in use", {"token"});
  }
  std::exception_ptr first_failure;
  // Told only when another token opened: when none did, the error thrown says it once.
  std::vector<std::string> set_aside_at_start;
  for (const auto& uri : key_uris) {
    auto member = std::make_unique<Member>();
    member->uri = uri;
    if (operations != nullptr) {
      member->operations = &operations->with({uri});
      member->set_aside = &set_aside->with({uri});
      member->up = &up->with({uri});
    }
    try {
      auto live = std::make_shared<const Live>(module_, uri, pin_, options_.seal_key_uri);
      if (public_key_pem_.empty()) {
        public_key_pem_ = live->key.public_key_pem();
        spki_der_ = live->signer.public_key_spki_der();
      } else if (live->key.public_key_pem() != public_key_pem_) {
        throw KeyMismatch("the key " + uri + " is not the same key as " + key_uris.front() +
                          ": every --key must name the same (cloned) key");
      }
      if (std::find(loaded_.begin(), loaded_.end(), live->token.token()->module_ptr()) ==
          loaded_.end())
        loaded_.push_back(live->token.token()->module_ptr());
      member->live = std::move(live);
      if (member->up != nullptr) member->up->set(1);
    } catch (const KeyMismatch&) {
      throw;
    } catch (const p11::Pkcs11Error& e) {
      if (!first_failure) first_failure = std::current_exception();
      if (is_pin_refusal(e)) member->pin_refused = true;
      set_aside_at_start.push_back("token of " + uri + " set aside at start: " + e.what());
    } catch (const std::exception& e) {
      if (!first_failure) first_failure = std::current_exception();
      set_aside_at_start.push_back("token of " + uri + " set aside at start: " + e.what());
    }
    members_.push_back(std::move(member));
  }
  if (public_key_pem_.empty()) std::rethrow_exception(first_failure);
  for (const auto& message : set_aside_at_start) say(message);
  prober_ = std::thread([this] { probe_loop(); });
}

TokenKeyGroup::~TokenKeyGroup() {
  {
    std::lock_guard lock(probe_mutex_);
    stopping_ = true;
  }
  probe_wake_.notify_all();
  if (prober_.joinable()) prober_.join();
}

void TokenKeyGroup::say(const std::string& message) const {
  if (options_.log) options_.log(message);
}

void TokenKeyGroup::probe_loop() {
  std::unique_lock lock(probe_mutex_);
  while (!probe_wake_.wait_for(lock, options_.probe_interval, [this] { return stopping_; })) {
    lock.unlock();
    for (const auto& member : members_) {
      std::shared_ptr<const Live> live;
      {
        std::lock_guard guard(member->mutex);
        live = member->live;
      }
      if (!live) {
        (void)rebuild(*member, nullptr, false);
      } else if (!live->token.answers()) {
        // Pulled while idle: set aside before a request finds out.
        set_aside(*member, live.get(), "the token is no longer in its slot");
      }
    }
    lock.lock();
  }
}

TokenKeyGroup::Picked TokenKeyGroup::pick() const {
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    Member& member = *members_[(start + i) % members_.size()];
    std::lock_guard lock(member.mutex);
    if (member.live) return {&member, member.live};
  }
  return {};
}

std::shared_ptr<const TokenKeyGroup::Live> TokenKeyGroup::rebuild(Member& member, const Live* stale,
                                                                  bool reinitialize) const {
  std::lock_guard serial(member.rebuild_mutex);
  {
    std::lock_guard lock(member.mutex);
    // Someone else rebuilt it while this caller waited.
    if (member.live && member.live.get() != stale) return member.live;
  }
  const bool was_in_use = stale != nullptr;
  if (member.pin_refused) return nullptr;
  try {
    if (reinitialize && stale != nullptr) stale->token.token()->module().reinitialize();
    auto fresh = std::make_shared<const Live>(module_, member.uri, pin_, options_.seal_key_uri);
    if (fresh->key.public_key_pem() != public_key_pem_)
      throw KeyMismatch("it now holds another key than the group's");
    {
      std::lock_guard lock(member.mutex);
      member.live = fresh;
    }
    if (member.up != nullptr) member.up->set(1);
    if (!was_in_use) say("token of " + member.uri + " answers again: taken back");
    return fresh;
  } catch (const std::exception& e) {
    if (const auto* refusal = dynamic_cast<const p11::Pkcs11Error*>(&e);
        refusal != nullptr && is_pin_refusal(*refusal)) {
      member.pin_refused = true;
      say("token of " + member.uri + " refused the PIN: not tried again: " + e.what());
    }
    if (was_in_use) set_aside(member, stale, e.what());
    return nullptr;
  }
}

void TokenKeyGroup::set_aside(Member& member, const Live* stale, const std::string& why) const {
  {
    std::lock_guard lock(member.mutex);
    if (!member.live || (stale != nullptr && member.live.get() != stale)) return;
    member.live.reset();
  }
  if (member.set_aside != nullptr) member.set_aside->inc();
  if (member.up != nullptr) member.up->set(0);
  say("token of " + member.uri + " set aside: " + why);
}

template <typename Operation>
auto TokenKeyGroup::run(const char* operation, Operation&& op) const {
  std::exception_ptr last;
  int backoffs = 0;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Picked picked = pick();
    if (!picked.live) {
      // None in use: try each set-aside token now rather than wait for the prober.
      for (const auto& member : members_) {
        if ((picked.live = rebuild(*member, nullptr, false))) {
          picked.member = member.get();
          break;
        }
      }
      if (!picked.live) {
        last = std::make_exception_ptr(
            p11::TokenGone(CKR_TOKEN_NOT_PRESENT, operation, "every token of the service key"));
        back_off(backoffs++);
        continue;
      }
    }
    try {
      auto result = op(*picked.live);
      if (picked.member->operations != nullptr) picked.member->operations->inc();
      return result;
    } catch (const p11::Pkcs11Error& e) {
      last = std::current_exception();
      const p11::ErrorClass what =
          e.kind() == p11::ErrorKind::token_gone ? p11::ErrorClass::token_gone : e.error_class();
      switch (what) {
        case p11::ErrorClass::reopen_session:
          break;  // the lease closed the session as it unwound
        case p11::ErrorClass::relogin:
          (void)rebuild(*picked.member, picked.live.get(), false);
          break;
        case p11::ErrorClass::reinitialize:
          (void)rebuild(*picked.member, picked.live.get(), true);
          break;
        case p11::ErrorClass::retry:
          back_off(backoffs++);
          break;
        case p11::ErrorClass::token_gone:
        case p11::ErrorClass::fatal:
          set_aside(*picked.member, picked.live.get(), e.what());
          break;
        case p11::ErrorClass::user_error:
          throw;
      }
    }
  }
  std::rethrow_exception(last);
}

SecretBytes TokenKeyGroup::decrypt_oaep_sha1(vault::ByteView ciphertext) const {
  return run("C_Decrypt", [&](const Live& live) { return live.key.decrypt_oaep_sha1(ciphertext); });
}

vault::Bytes TokenKeyGroup::sign_pss_sha256(vault::ByteView message) const {
  return run("C_Sign", [&](const Live& live) { return live.signer.sign_pss_sha256(message); });
}

vault::Bytes TokenKeyGroup::wrap(const SecretBytes& secret) const {
  return run("C_WrapKey", [&](const Live& live) { return live.seal.wrap(secret); });
}

SecretBytes TokenKeyGroup::unwrap(vault::ByteView wrapped) const {
  return run("C_UnwrapKey", [&](const Live& live) { return live.seal.unwrap(wrapped); });
}

bool TokenKeyGroup::answers() const noexcept {
  for (const auto& member : members_) {
    std::shared_ptr<const Live> live;
    {
      std::lock_guard lock(member->mutex);
      live = member->live;
    }
    if (live && live->token.answers()) return true;
  }
  return false;
}

std::size_t TokenKeyGroup::tokens_in_use() const noexcept {
  std::size_t count = 0;
  for (const auto& member : members_) {
    std::lock_guard lock(member->mutex);
    if (member->live) ++count;
  }
  return count;
}

}  // namespace idvault::rp
