// The agent's background sync (host/agent/cloud_watch.h) against loopback sockets that
// never answer or refuse: the long poll is waited for without the agent's lock, a local
// change ends it and is pushed after the debounce, stop and shutdown do not wait for the
// network, and an unreachable server is probed with back-off, not synced against.
#include "host/agent/cloud_watch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "host/rpc/json_rpc.h"

namespace idvault::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loopback port; listening: the kernel takes connections and nobody ever answers
// (a long poll that stays open); not listening: refused.
class Port {
 public:
  explicit Port(bool listening) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size), 0);
    port_ = ntohs(address.sin_port);
    if (listening) {
      EXPECT_EQ(::listen(fd_, 16), 0);
    } else {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Port() {
    if (fd_ >= 0) ::close(fd_);
  }
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;
  Port(Port&&) = delete;
  Port& operator=(Port&&) = delete;
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

// The agent as the watch sees it; `lock` stands for the agent's mutex.
struct FakeAgent {
  std::mutex lock;
  std::mutex counts;
  std::condition_variable changed;
  int syncs = 0;
  int signs = 0;
  bool linked = true;
  bool offline = false;  // sync fails as a server out of reach does
  std::string server;

  CloudWatchHost host() {
    CloudWatchHost host;
    host.target = [this]() -> std::optional<CloudWatchTarget> {
      std::lock_guard held(lock);
      if (!linked) return std::nullopt;
      return CloudWatchTarget{server, "account", "device", 7};
    };
    host.sign = [this](vault::ByteView) {
      std::lock_guard held(lock);
      bump(signs);
      return vault::Bytes(64, 1);
    };
    host.sync = [this] {
      std::lock_guard held(lock);
      bump(syncs);
      if (offline) throw rpc::RpcError(rpc::RpcCode::delivery_failed, "no answer", {{"status", 0}});
    };
    return host;
  }
  void bump(int& count) {
    std::lock_guard held(counts);
    ++count;
    changed.notify_all();
  }
  bool reaches(const int& count, int value, std::chrono::milliseconds within) {
    std::unique_lock held(counts);
    return changed.wait_for(held, within, [&] { return count >= value; });
  }
  int read(const int& count) {
    std::lock_guard held(counts);
    return count;
  }
};

TEST(CloudWatch, WaitsWithoutTheAgentsLockAndStopsAtOnce) {
  const Port silent(true);
  FakeAgent agent;
  agent.server = silent.url();
  CloudWatch watch(agent.host());
  watch.start();
  // The catch-up sync, then the long poll, signed and sent.
  ASSERT_TRUE(agent.reaches(agent.signs, 1, 5s));
  EXPECT_EQ(agent.read(agent.syncs), 1);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(agent.lock.try_lock()) << "the agent's lock is held over the long poll";
  agent.lock.unlock();

  // A change here ends the poll and is pushed after the debounce, then it polls again.
  const auto changed_at = Clock::now();
  watch.changed();
  ASSERT_TRUE(agent.reaches(agent.syncs, 2, 5s));
  EXPECT_GE(Clock::now() - changed_at, 150ms);
  ASSERT_TRUE(agent.reaches(agent.signs, 2, 5s));

  const auto stopping = Clock::now();
  watch.stop();
  watch.shutdown();
  EXPECT_LT(Clock::now() - stopping, 10s) << "stop waited for the network";
}

TEST(CloudWatch, AnUnreachableServerIsProbedWithBackOffNotSyncedAgainst) {
  const Port refused(false);
  FakeAgent agent;
  agent.server = refused.url();
  agent.offline = true;
  CloudWatchTiming timing;
  timing.backoff_first = 10ms;
  timing.backoff_max = 40ms;
  CloudWatch watch(agent.host(), timing);
  watch.start();
  ASSERT_TRUE(agent.reaches(agent.signs, 4, 5s));  // probes, each signed
  watch.changed();  // while away: kept for when it answers, not tried at once
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(agent.read(agent.syncs), 1);
  const auto stopping = Clock::now();
  watch.shutdown();
  EXPECT_LT(Clock::now() - stopping, 10s);
}

TEST(CloudWatch, AVaultInNoAccountIsNotFollowed) {
  FakeAgent agent;
  agent.linked = false;
  CloudWatch watch(agent.host());
  watch.start();
  watch.changed();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(agent.read(agent.syncs), 0);
  EXPECT_EQ(agent.read(agent.signs), 0);
  watch.stop();
  watch.changed();  // after stop: nothing either
  watch.shutdown();
  EXPECT_EQ(agent.read(agent.syncs), 0);
}

}  // namespace
}  // namespace idvault::agent
