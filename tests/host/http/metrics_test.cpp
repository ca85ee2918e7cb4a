// The Prometheus registry: text exposition format, labels and their escaping, histogram
// buckets, one family per name, and updates from several threads.
#include "host/http/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace idvault::http;

namespace {

TEST(Metrics, RendersCountersGaugesAndHistogramsInTextFormat) {
  MetricsRegistry registry;
  auto& requests =
      registry.counter("http_requests_total", "Requests.\nBy route", {"route", "status"});
  requests.with({"/callback", "200"}).inc();
  requests.with({"/callback", "200"}).inc(2);
  requests.with({"/a\"b\\c\nd", "409"}).inc();
  registry.gauge("pool_sessions_in_use", "Sessions lent out.").get().set(3);
  auto& seconds = registry.histogram("stage_seconds", "Time per stage.", {"stage"}, {0.1, 1});
  seconds.with({"hsm"}).observe(0.0625);
  seconds.with({"hsm"}).observe(0.5);
  seconds.with({"hsm"}).observe(7);
  registry.counter("replays_refused_total", "Replays refused.");  // no child yet

  const std::string expected =
      "# HELP http_requests_total Requests.\\nBy route\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{route=\"/a\\\"b\\\\c\\nd\",status=\"409\"} 1\n"
      "http_requests_total{route=\"/callback\",status=\"200\"} 3\n"
      "# HELP pool_sessions_in_use Sessions lent out.\n"
      "# TYPE pool_sessions_in_use gauge\n"
      "pool_sessions_in_use 3\n"
      "# HELP replays_refused_total Replays refused.\n"
      "# TYPE replays_refused_total counter\n"
      "# HELP stage_seconds Time per stage.\n"
      "# TYPE stage_seconds histogram\n"
      "stage_seconds_bucket{stage=\"hsm\",le=\"0.1\"} 1\n"
      "stage_seconds_bucket{stage=\"hsm\",le=\"1\"} 2\n"
      "stage_seconds_bucket{stage=\"hsm\",le=\"+Inf\"} 3\n"
      "stage_seconds_sum{stage=\"hsm\"} 7.5625\n"
      "stage_seconds_count{stage=\"hsm\"} 3\n";
  EXPECT_EQ(registry.render(), expected);
}

TEST(Metrics, OneFamilyPerNameAndNamesAreChecked) {
  MetricsRegistry registry;
  auto& first = registry.counter("a_total", "A.", {"x"});
  EXPECT_EQ(&registry.counter("a_total", "A.", {"x"}), &first);
  EXPECT_THROW(registry.counter("a_total", "A.", {"y"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge("a_total", "A."), std::invalid_argument);
  EXPECT_THROW(registry.counter("1bad", "."), std::invalid_argument);
  EXPECT_THROW(registry.counter("bad-name", "."), std::invalid_argument);
  EXPECT_THROW(registry.counter("b_total", ".", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("b_total", ".", {"x", "x"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", ".", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", ".", {}, {1, 0.5}), std::invalid_argument);
  EXPECT_THROW(first.with({}), std::invalid_argument) << "one value per label";
  first.with({"v"}).inc(-5);
  EXPECT_EQ(first.with({"v"}).value(), 0) << "a counter only goes up";
}

TEST(Metrics, UpdatesFromManyThreadsAddUp) {
  MetricsRegistry registry;
  auto& counter = registry.counter("c_total", "C.", {"t"});
  auto& histogram = registry.histogram("h_seconds", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counter.with({t % 2 == 0 ? "even" : "odd"}).inc();
        histogram.get().observe(0.5);
        if (i % 1000 == 0) (void)registry.render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.with({"even"}).value() + counter.with({"odd"}).value(), 40000);
  const auto snapshot = histogram.get().snapshot();
  EXPECT_EQ(snapshot.count, 40000u);
  EXPECT_EQ(snapshot.cumulative.front(), 40000u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 20000);
}

}  // namespace
