#include "host/agent/cloud_watch.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "host/agent/audit_log.h"
#include "host/rpc/json_rpc.h"
#include "vault/account/request_signature.h"

namespace idvault::agent {

namespace {

// The identity key as the poll's RequestSigner sees it: each signature is made by the
// agent (under its lock), then the request is sent and waited for without it.
class HostSigningKey final : public vault::SigningKey {
 public:
  explicit HostSigningKey(const std::function<vault::Bytes(vault::ByteView)>& sign) : sign_(sign) {}
  [[nodiscard]] vault::Bytes sign_es256(vault::ByteView message) const override {
    return sign_(message);
  }
  [[nodiscard]] vault::Bytes public_key_spki_der() const override {
    throw std::logic_error("the cloud watch signs requests only");
  }

 private:
  const std::function<vault::Bytes(vault::ByteView)>& sign_;
};

// A server that is not there for now: tried again later, never an error to a client.
bool unreachable(long status) {
  return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

CloudWatch::CloudWatch(CloudWatchHost host, CloudWatchTiming timing)
    : host_(std::move(host)), timing_(timing) {}

CloudWatch::~CloudWatch() {
  shutdown();
}

void CloudWatch::start() {
  std::lock_guard lock(mutex_);
  if (shut_down_) return;
  active_ = true;
  ++generation_;
  if (polling_ != nullptr) polling_->cancel();
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.notify_all();
}

void CloudWatch::stop() {
  std::lock_guard lock(mutex_);
  active_ = false;
  ++generation_;
  local_change_ = false;
  if (polling_ != nullptr) polling_->cancel();
  wake_.notify_all();
}

void CloudWatch::changed() {
  std::lock_guard lock(mutex_);
  if (!active_) return;  // the catch-up at the next start pushes it
  const auto now = std::chrono::steady_clock::now();
  if (!local_change_) first_change_ = now;
  last_change_ = now;
  local_change_ = true;
  if (polling_ != nullptr) polling_->cancel();
  wake_.notify_all();
}

void CloudWatch::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    active_ = false;
    ++generation_;
    if (polling_ != nullptr) polling_->cancel();
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool CloudWatch::ended(std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  return shut_down_ || generation_ != generation;
}

bool CloudWatch::change_pending() {
  std::lock_guard lock(mutex_);
  return local_change_;
}

void CloudWatch::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return shut_down_ || active_; });
    if (shut_down_) return;
    const std::uint64_t generation = generation_;
    lock.unlock();
    try {
      follow(generation);
    } catch (const std::exception& error) {
      log(LogLevel::warning, std::string("cloud: background sync stopped: ") + error.what());
    }
    lock.lock();
    // Ended by itself (locked, in no account): idle until the next start.
    if (generation_ == generation) active_ = false;
  }
}

// Waits until local changes stop coming for the debounce time (at most debounce_max
// after the first), then takes them.
void CloudWatch::settle_changes(std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  while (!shut_down_ && generation_ == generation && local_change_) {
    const auto due =
        std::min(last_change_ + timing_.debounce, first_change_ + timing_.debounce_max);
    if (std::chrono::steady_clock::now() >= due) {
      local_change_ = false;
      return;
    }
    wake_.wait_until(lock, due);
  }
}

void CloudWatch::back_off(std::uint64_t generation, std::chrono::milliseconds& backoff) {
  {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, backoff, [&] { return shut_down_ || generation_ != generation; });
  }
  backoff = std::min(backoff * 2, timing_.backoff_max);
}

CloudWatch::Outcome CloudWatch::sync_once(std::string& why) {
  try {
    host_.sync();
    return Outcome::ok;
  } catch (const rpc::RpcError& error) {
    why = error.what();
    if (error.code() == rpc::RpcCode::locked || error.code() == rpc::RpcCode::not_initialised)
      return Outcome::locked;
    if (error.code() == rpc::RpcCode::delivery_failed && error.data().is_object() &&
        unreachable(error.data().value("status", 0L)))
      return Outcome::offline;
    return Outcome::refused;
  } catch (const cloud::CloudError& error) {
    why = error.what();
    return unreachable(error.status) ? Outcome::offline : Outcome::refused;
  } catch (const std::exception& error) {
    why = error.what();
    return Outcome::refused;
  }
}

void CloudWatch::follow(std::uint64_t generation) {
  bool need_sync = true;  // what came meanwhile, and what changed here while locked
  bool offline = false;
  std::string last_refusal;
  auto backoff = timing_.backoff_first;
  std::unique_ptr<cloud::CloudClient> client;
  std::string client_server;
  struct Forget {  // stop() must never reach a client that is gone
    explicit Forget(CloudWatch& w) noexcept : watch(w) {}
    Forget(const Forget&) = delete;
    Forget& operator=(const Forget&) = delete;
    Forget(Forget&&) = delete;
    Forget& operator=(Forget&&) = delete;
    ~Forget() {
      std::lock_guard lock(watch.mutex_);
      watch.polling_ = nullptr;
    }
    CloudWatch& watch;
  } const forget{*this};
  const HostSigningKey key(host_.sign);
  const auto went_offline = [&](const std::string& why) {
    if (!offline) {
      log(LogLevel::warning,
          "cloud: the server is out of reach, trying again in the background (" + why + ")");
    }
    offline = true;
  };
  const auto refused = [&](const std::string& why) {
    if (why != last_refusal) log(LogLevel::warning, "cloud: background sync: " + why);
    last_refusal = why;
  };
  for (;;) {
    if (ended(generation)) return;
    if (change_pending()) {
      settle_changes(generation);
      need_sync = true;
      continue;
    }
    // Read afresh each time: the link's counter moves with every sync.
    const std::optional<CloudWatchTarget> target = host_.target();
    if (!target) return;  // locked, or a vault in no account: nothing to follow
    if (need_sync && !offline) {
      std::string why;
      switch (sync_once(why)) {
        case Outcome::ok:
          need_sync = false;
          last_refusal.clear();
          backoff = timing_.backoff_first;
          continue;  // the poll starts from the counter this sync reached
        case Outcome::locked:
          return;
        case Outcome::offline:
          went_offline(why);
          back_off(generation, backoff);
          continue;
        case Outcome::refused:
          refused(why);
          back_off(generation, backoff);
          continue;
      }
    }
    if (!client || client_server != target->server) {
      auto fresh = std::make_unique<cloud::CloudClient>(target->server);
      std::lock_guard lock(mutex_);
      polling_ = fresh.get();
      client = std::move(fresh);
      client_server = target->server;
    }
    const vault::RequestSigner signer(key, target->account, target->device);
    client->sign_as(&signer);
    {
      // Checked and re-armed together, so a stop or change after this point cancels the
      // poll about to start.
      std::lock_guard lock(mutex_);
      if (shut_down_ || generation_ != generation || local_change_) continue;
      client->reset_cancel();
    }
    try {
      // While offline only a probe: the first answer ends the outage at once.
      const cloud::CloudClient::Changes changes = client->changes(
          target->account, target->since, offline ? std::chrono::seconds(0) : timing_.poll_wait);
      if (offline) {
        log(LogLevel::info, "cloud: the server answers again");
        offline = false;
        need_sync = true;
      }
      backoff = timing_.backoff_first;
      if (!changes.changes.empty()) need_sync = true;
    } catch (const cloud::CloudError& error) {
      if (ended(generation) || change_pending()) continue;  // cancelled for a reason
      if (unreachable(error.status)) {
        went_offline(error.what());
      } else {
        refused(error.what());
      }
      back_off(generation, backoff);
    } catch (const rpc::RpcError& error) {  // signing: the vault locked meanwhile
      if (error.code() == rpc::RpcCode::locked || ended(generation)) return;
      refused(error.what());
      back_off(generation, backoff);
    }
  }
}

}  // namespace idvault::agent
