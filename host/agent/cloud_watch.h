// Background sync with the account (docs/CLOUD.md, "Sync"): one thread per agent that
// long-polls the server's change feed and, when something changed there or here, runs
// the same pull and push as `idvault sync`.
//
// The agent's lock is held for every vault and token operation, so it is never held
// across a network wait here: the long poll's request is signed under the lock (the
// identity key is on the token) and then waited for without it, and the poll is cancelled
// at once when the vault locks, so a lock never waits for the server. The sync itself
// (host.sync) takes the lock as `idvault sync` does, and runs only right after the server
// answered.
//
// A server that does not answer (no connection, time-out, 429, 502-504) is tried again
// after 1 s, doubling to 60 s, and said once per outage, at warning: never an error to a
// client. Local changes made meanwhile are pushed as soon as it answers again; a local
// change while it answers is pushed within about 200 ms (debounced, at most 2 s late).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "host/cloud/client/cloud_client.h"
#include "vault/keys/keys.h"

namespace idvault::agent {

// The account this device syncs with, as its cloud link names it.
struct CloudWatchTarget {
  std::string server;
  std::string account;
  std::string device;
  std::int64_t since = 0;  // the change counter pulled up to
};

// What the watch needs from the agent; each call takes the agent's lock for itself.
struct CloudWatchHost {
  // The account to watch; nullopt: nothing to watch (locked, or in no account).
  std::function<std::optional<CloudWatchTarget>()> target;
  // ES256 by this device's identity key (on the token). Throws when locked.
  std::function<vault::Bytes(vault::ByteView)> sign;
  // Pull, then push (throws rpc::RpcError, e.g. delivery_failed with data.status).
  std::function<void()> sync;
};

struct CloudWatchTiming {
  std::chrono::seconds poll_wait{25};  // the long poll's wait on the server
  std::chrono::milliseconds debounce{200};
  std::chrono::milliseconds debounce_max{2000};
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_max{60000};
};

class CloudWatch {
 public:
  explicit CloudWatch(CloudWatchHost host, CloudWatchTiming timing = {});
  ~CloudWatch();  // shutdown()
  CloudWatch(const CloudWatch&) = delete;
  CloudWatch& operator=(const CloudWatch&) = delete;
  CloudWatch(CloudWatch&&) = delete;
  CloudWatch& operator=(CloudWatch&&) = delete;

  // Watches (again) from now on: catches up at once, then follows the server. Never
  // blocks on the network or on the agent's lock: may be called with it held.
  void start();
  // Stops watching: a poll in progress ends at once. Does not wait for a sync that is
  // already running (it finds the vault locked). May be called with the agent's lock held.
  void stop();
  // Something changed here: pushed soon.
  void changed();
  // Stops for good and waits for the thread. Not with the agent's lock held.
  void shutdown();

 private:
  enum class Outcome { ok, offline, locked, refused };
  void run();
  void follow(std::uint64_t generation);
  [[nodiscard]] bool ended(std::uint64_t generation);
  [[nodiscard]] bool change_pending();
  void settle_changes(std::uint64_t generation);
  // Sleeps for the back-off (woken only by stop, start and shutdown); doubles it.
  void back_off(std::uint64_t generation, std::chrono::milliseconds& backoff);
  Outcome sync_once(std::string& why);

  CloudWatchHost host_;
  CloudWatchTiming timing_;
  std::mutex mutex_;  // a leaf: nothing else is taken while it is held
  std::condition_variable wake_;
  bool active_ = false;
  bool shut_down_ = false;
  std::uint64_t generation_ = 0;  // moves at every start and stop
  bool local_change_ = false;
  std::chrono::steady_clock::time_point first_change_, last_change_;
  cloud::CloudClient* polling_ = nullptr;  // the client a poll may be waiting in
  std::thread thread_;
};

}  // namespace idvault::agent
