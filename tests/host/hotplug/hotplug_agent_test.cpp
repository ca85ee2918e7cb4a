// The agent with its token watcher on a long poll interval: a USB hot-plug event (a fake
// source here; these machines have no USB) makes it notice a pulled token at once instead
// of at the next poll. Each test has its own SoftHSM2 token and store. (A token coming
// back is the card test's job: SoftHSM reads its token directory only at C_Initialize,
// so a token re-created under a loaded module never reappears in-process.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "host/agent/holder_agent.h"
#include "host/agent/token_watcher.h"
#include "host/rpc/json_rpc.h"
#include "tests/host/hotplug/fake_hotplug_source.h"
#include "tests/host/hotplug/wait_until.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/temp_dir.h"

using namespace idvault;
using idvault::testing::wait_until;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class HotplugAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent::AgentConfig config;
    config.store_path = dir_ / "vault.db";
    config.module_path = token_.module_path();
    config.token_uri = token_.uri();
    config.confirm_program = "/bin/true";
    agent_ = std::make_unique<agent::HolderAgent>(config);
    agent_->set_event_sink([this](const std::string& event, const nlohmann::json&) {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
    });
    (void)agent_->init(token_.pin(), false, std::nullopt);
    ASSERT_EQ(agent_->status()["unlocked"], true);
  }
  void TearDown() override {
    source_.stop();
    watcher_.reset();
    agent_.reset();
  }

  void start_watching(std::chrono::milliseconds poll_interval) {
    agent::TokenWatchTiming timing;
    timing.poll_interval = poll_interval;
    watcher_ = std::make_unique<agent::TokenWatcher>([this] { agent_->watch(); }, timing);
    ASSERT_TRUE(source_.start([this](agent::UsbChange) { watcher_->nudge(); }));
    ASSERT_TRUE(wait_until([this] { return watcher_->checks_run() >= 1; }));
  }
  bool seen(const std::string& event) {
    std::lock_guard lock(mutex_);
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }

  idvault::testing::SoftHsmToken token_{"holder"};
  idvault::testing::TempDir dir_{"idvault-hotplug"};
  std::unique_ptr<agent::HolderAgent> agent_;
  idvault::testing::FakeHotplugSource source_;
  std::unique_ptr<agent::TokenWatcher> watcher_;
  std::mutex mutex_;
  std::vector<std::string> events_;
};

}  // namespace

TEST_F(HotplugAgentTest, AUsbEventMakesThePulledTokenNoticedLongBeforeThePoll) {
  start_watching(std::chrono::hours(1));
  token_.remove();
  // Nothing has looked yet: with an hourly poll only the event can make the agent look.
  EXPECT_EQ(agent_->status()["unlocked"], true);
  EXPECT_FALSE(seen("token_removed"));

  source_.fire(agent::UsbChange::left);
  ASSERT_TRUE(wait_until([this] { return seen("token_removed"); }))
      << "the hot-plug event did not make the agent look";
  EXPECT_TRUE(seen("locked"));
  EXPECT_EQ(agent_->status()["unlocked"], false);
  // A client is told why the vault locked, and when, not only that it is locked.
  try {
    (void)agent_->list();
    ADD_FAILURE() << "a pulled token left the vault readable";
  } catch (const rpc::RpcError& error) {
    EXPECT_EQ(error.code(), rpc::RpcCode::locked);
    EXPECT_NE(std::string(error.what()).find("the token was removed at "), std::string::npos)
        << error.what();
    EXPECT_EQ(error.data().value("reason", ""), "token_removed");
  }
}

TEST_F(HotplugAgentTest, AnEventForAnotherDeviceChangesNothing) {
  start_watching(std::chrono::hours(1));
  const std::uint64_t before = watcher_->checks_run();
  source_.fire(agent::UsbChange::arrived);  // a mouse, say: the token is still there
  ASSERT_TRUE(wait_until([&] { return watcher_->checks_run() > before; }));
  EXPECT_EQ(agent_->status()["unlocked"], true);
  EXPECT_FALSE(seen("token_removed"));
  EXPECT_FALSE(seen("locked"));
}

TEST_F(HotplugAgentTest, WithoutEventsThePollStillFindsThePulledToken) {
  start_watching(50ms);  // polling is the mechanism of record; events only hurry it
  token_.remove();
  ASSERT_TRUE(wait_until([this] { return seen("token_removed"); }));
  EXPECT_EQ(agent_->status()["unlocked"], false);
}
