// One thread that runs the jobs posted to it, in order, so the poster can go on: the
// holder's store uses one to write a put's ciphertexts while the next file is being
// encrypted, and one to delete the files a replaced element leaves behind after the
// put has been answered.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace idvault::vault {

class SerialWorker {
 public:
  SerialWorker() = default;
  ~SerialWorker();                             // runs what is still queued, then stops
  SerialWorker(const SerialWorker&) = delete;  // owns a thread
  SerialWorker& operator=(const SerialWorker&) = delete;

  // The job runs on the worker's thread (started by the first post). It must not throw:
  // a job keeps its own failure for whoever waits on it.
  void post(std::function<void()> job);
  // Returns once every job posted before the call has run.
  void wait();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;  // a job taken off the queue is running
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace idvault::vault
