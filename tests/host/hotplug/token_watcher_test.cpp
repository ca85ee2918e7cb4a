// The token watcher's schedule: a check at start, one at once on a nudge followed by a
// short burst, then back to the (here very long) poll interval; and prompt shutdown.
#include "host/agent/token_watcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <stdexcept>

#include "tests/host/hotplug/wait_until.h"

using namespace idvault;
using idvault::testing::wait_until;
using namespace std::chrono_literals;

namespace {

agent::TokenWatchTiming hourly(int burst_checks = 0) {
  agent::TokenWatchTiming timing;
  timing.poll_interval = std::chrono::hours(1);
  timing.burst_step = 1ms;
  timing.burst_checks = burst_checks;
  return timing;
}

}  // namespace

TEST(TokenWatcher, ChecksOnceAtStartThenWaitsForThePoll) {
  std::atomic<int> checks{0};
  agent::TokenWatcher watcher([&] { ++checks; }, hourly());
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() == 1; }));
  EXPECT_EQ(checks.load(), 1);
}

TEST(TokenWatcher, ANudgeChecksAtOnceThenBurstsThenWaitsForThePollAgain) {
  std::atomic<int> checks{0};
  agent::TokenWatcher watcher([&] { ++checks; }, hourly(3));
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() == 1; }));
  watcher.nudge();
  // The one at once plus three quick re-checks.
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() >= 5; }));
  watcher.nudge();
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() >= 9; }));
  watcher.stop();
  EXPECT_EQ(checks.load(), 9);
}

TEST(TokenWatcher, ANudgeDuringACheckIsNotLost) {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::atomic<int> started{0};
  agent::TokenWatcher watcher(
      [&] {
        if (++started == 1) {
          std::unique_lock lock(mutex);
          released.wait(lock, [&] { return release; });
        }
      },
      hourly());
  ASSERT_TRUE(wait_until([&] { return started.load() == 1; }));
  watcher.nudge();  // while the first check is still running
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() == 2; }));
}

TEST(TokenWatcher, StopsPromptlyDespiteAnHourlyPollAndTwice) {
  auto watcher = std::make_unique<agent::TokenWatcher>([] {}, hourly());
  ASSERT_TRUE(wait_until([&] { return watcher->checks_run() == 1; }));
  watcher->stop();  // would hang for an hour if stop only took effect at the next poll
  watcher->stop();
  watcher->nudge();  // after stop: nothing runs
  EXPECT_EQ(watcher->checks_run(), 1u);
  watcher.reset();
}

TEST(TokenWatcher, ACheckThatThrowsDoesNotStopTheWatcher) {
  std::atomic<int> calls{0};
  agent::TokenWatcher watcher(
      [&] {
        if (++calls == 1) throw std::runtime_error("token misbehaved");
      },
      hourly());
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() == 1; }));
  watcher.nudge();
  ASSERT_TRUE(wait_until([&] { return watcher.checks_run() == 2; }));
  EXPECT_EQ(calls.load(), 2);
}

TEST(TokenWatcher, RejectsAScheduleThatCannotWork) {
  auto with = [](auto change) {
    agent::TokenWatchTiming timing;
    change(timing);
    return timing;
  };
  EXPECT_THROW(agent::TokenWatcher([] {}, with([](auto& t) { t.poll_interval = 0ms; })),
               std::invalid_argument);
  EXPECT_THROW(agent::TokenWatcher([] {}, with([](auto& t) { t.burst_step = -1ms; })),
               std::invalid_argument);
  EXPECT_THROW(agent::TokenWatcher([] {}, with([](auto& t) { t.burst_checks = -1; })),
               std::invalid_argument);
  EXPECT_THROW(agent::TokenWatcher(nullptr), std::invalid_argument);
}
