#include "vault/store/serial_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

using idvault::vault::SerialWorker;

namespace {

TEST(SerialWorker, RunsJobsInOrderOnOneOtherThread) {
  SerialWorker worker;
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 100; ++i) {
    worker.post([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  worker.wait();
  std::lock_guard lock(mutex);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  for (const auto& id : threads) {
    EXPECT_EQ(id, threads.front());
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(SerialWorker, WaitReturnsOnlyAfterTheRunningJobIsDone) {
  SerialWorker worker;
  std::atomic<bool> done{false};
  worker.post([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done = true;
  });
  worker.wait();
  EXPECT_TRUE(done.load());
  worker.wait();  // nothing queued: returns at once
}

TEST(SerialWorker, DestructionRunsWhatIsStillQueued) {
  std::atomic<int> ran{0};
  {
    SerialWorker worker;
    for (int i = 0; i < 10; ++i) {
      worker.post([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
