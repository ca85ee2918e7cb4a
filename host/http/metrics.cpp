#include "host/http/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace idvault::http {
namespace {

bool valid_name(const std::string& name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
    if (!letter && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

void check_names(const std::string& name, const std::vector<std::string>& labels, bool histogram) {
  if (!valid_name(name, true)) throw std::invalid_argument("bad metric name '" + name + "'");
  for (const auto& label : labels) {
    if (!valid_name(label, false) || label.rfind("__", 0) == 0 || (histogram && label == "le"))
      throw std::invalid_argument("bad label name '" + label + "' on " + name);
  }
  for (std::size_t i = 0; i < labels.size(); ++i)
    for (std::size_t j = i + 1; j < labels.size(); ++j)
      if (labels[i] == labels[j])
        throw std::invalid_argument("label '" + labels[i] + "' twice on " + name);
}

std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[64];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
  return ec == std::errc() ? std::string(text, end) : "NaN";
}

// Label values may hold anything; \, " and newline are escaped. HELP escapes \ and newline.
std::string escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out.push_back(c);
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, const std::string& extra_name = {},
                       const std::string& extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape(values[i], true) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

template <typename Metric>
std::unique_ptr<Metric> make_child(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<Metric, Histogram>)
    return std::make_unique<Histogram>(bounds);
  else
    return std::make_unique<Metric>();
}

}  // namespace

void Counter::inc(double amount) noexcept {
  if (amount > 0) value_.fetch_add(amount);
}

void Gauge::inc(double amount) noexcept {
  value_.fetch_add(amount);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram bounds must be increasing");
}

void Histogram::observe(double value) noexcept {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot out;
  out.cumulative.reserve(counts_.size());
  std::uint64_t running = 0;
  for (auto count : counts_) out.cumulative.push_back(running += count);
  out.sum = sum_;
  out.count = count_;
  return out;
}

std::vector<double> default_time_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& values) {
  if (values.size() != labels_.size())
    throw std::invalid_argument(name_ + " takes " + std::to_string(labels_.size()) +
                                " label values");
  std::lock_guard lock(mutex_);
  auto& child = children_[values];
  if (!child) child = make_child<Metric>(bounds_);
  return *child;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

bool MetricsRegistry::name_taken(const std::string& name) const {
  return counters_.count(name) + gauges_.count(name) + histograms_.count(name) != 0;
}

template <typename Metric>
Family<Metric>& MetricsRegistry::add(
    std::map<std::string, std::unique_ptr<Family<Metric>>>& families, const std::string& name,
    const std::string& help, std::vector<std::string> labels, std::vector<double> bounds) {
  check_names(name, labels, std::is_same_v<Metric, Histogram>);
  std::lock_guard lock(mutex_);
  if (auto it = families.find(name); it != families.end()) {
    if (it->second->labels_ != labels || it->second->bounds_ != bounds)
      throw std::invalid_argument("metric " + name + " registered with other labels");
    return *it->second;
  }
  if (name_taken(name))
    throw std::invalid_argument("metric " + name + " registered as another kind");
  auto family = std::unique_ptr<Family<Metric>>(
      new Family<Metric>(name, help, std::move(labels), std::move(bounds)));
  return *families.emplace(name, std::move(family)).first->second;
}

Family<Counter>& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels) {
  return add(counters_, name, help, std::move(labels), {});
}

Family<Gauge>& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  return add(gauges_, name, help, std::move(labels), {});
}

Family<Histogram>& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                              std::vector<std::string> labels,
                                              std::vector<double> upper_bounds) {
  if (!std::is_sorted(upper_bounds.begin(), upper_bounds.end()) ||
      std::adjacent_find(upper_bounds.begin(), upper_bounds.end()) != upper_bounds.end())
    throw std::invalid_argument("histogram " + name + ": bounds must be increasing");
  return add(histograms_, name, help, std::move(labels), std::move(upper_bounds));
}

template <typename Metric>
std::string MetricsRegistry::render_family(const Family<Metric>& family, const char* type) {
  std::string out = "# HELP " + family.name_ + " " + escape(family.help_, false) + "\n# TYPE " +
                    family.name_ + " " + type + "\n";
  std::lock_guard lock(family.mutex_);
  for (const auto& [values, child] : family.children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const auto snapshot = child->snapshot();
      for (std::size_t i = 0; i <= family.bounds_.size(); ++i) {
        const std::string le =
            i < family.bounds_.size() ? format_number(family.bounds_[i]) : "+Inf";
        out += family.name_ + "_bucket" + label_text(family.labels_, values, "le", le) + " " +
               std::to_string(snapshot.cumulative[i]) + "\n";
      }
      const std::string labels = label_text(family.labels_, values);
      out += family.name_ + "_sum" + labels + " " + format_number(snapshot.sum) + "\n";
      out += family.name_ + "_count" + labels + " " + std::to_string(snapshot.count) + "\n";
    } else {
      out += family.name_ + label_text(family.labels_, values) + " " +
             format_number(child->value()) + "\n";
    }
  }
  return out;
}

std::string MetricsRegistry::render() const {
  std::map<std::string, std::string> by_name;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : counters_) by_name[name] = render_family(*family, "counter");
  for (const auto& [name, family] : gauges_) by_name[name] = render_family(*family, "gauge");
  for (const auto& [name, family] : histograms_)
    by_name[name] = render_family(*family, "histogram");
  std::string out;
  for (const auto& [name, text] : by_name) out += text;
  return out;
}

}  // namespace idvault::http
