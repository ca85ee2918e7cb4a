// A small Prometheus registry: counters, gauges and histograms with labels, and their
// text exposition format (version 0.0.4) for GET /metrics.
//
// Thread-safe throughout: a family hands out its children by label values, and a child
// (a reference that stays valid as long as the registry lives) may be updated from any
// thread. Families are registered once by name; asking again for the same name, kind
// and labels returns the same family, anything else throws std::invalid_argument. Keep
// label values to a known small set (a route, a status, an error class): every value
// ever seen stays in the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace idvault::http {

class Counter {
 public:
  void inc(double amount = 1.0) noexcept;  // a negative amount is ignored
  [[nodiscard]] double value() const noexcept { return value_.load(); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) noexcept { value_.store(value); }
  void inc(double amount = 1.0) noexcept;
  void dec(double amount = 1.0) noexcept { inc(-amount); }
  [[nodiscard]] double value() const noexcept { return value_.load(); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
  void observe(double value) noexcept;
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::vector<double>& upper_bounds() const noexcept { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Seconds, from a millisecond to a minute: what a request or an HSM call takes.
[[nodiscard]] std::vector<double> default_time_buckets();

class MetricsRegistry;

// One metric name and its label names; a child per combination of label values.
template <typename Metric>
class Family {
 public:
  // values: one per label name, in order; throws std::invalid_argument otherwise.
  Metric& with(const std::vector<std::string>& values);
  // For a family without labels.
  Metric& get() { return with({}); }

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;  // children are handed out by reference
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // name: [a-zA-Z_:][a-zA-Z0-9_:]* (a counter's should end in _total); label names
  // [a-zA-Z_][a-zA-Z0-9_]*, not starting with __, and "le" not on a histogram.
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> labels = {},
                               std::vector<double> upper_bounds = default_time_buckets());

  // Every family in name order, children in label order: # HELP, # TYPE, then samples.
  [[nodiscard]] std::string render() const;

 private:
  template <typename Metric>
  Family<Metric>& add(std::map<std::string, std::unique_ptr<Family<Metric>>>& families,
                      const std::string& name, const std::string& help,
                      std::vector<std::string> labels, std::vector<double> bounds);
  [[nodiscard]] bool name_taken(const std::string& name) const;  // with mutex_ held
  template <typename Metric>
  static std::string render_family(const Family<Metric>& family, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family<Counter>>> counters_;
  std::map<std::string, std::unique_ptr<Family<Gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<Family<Histogram>>> histograms_;
};

// The Content-Type of render()'s text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace idvault::http
