// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. add() is one relaxed atomic add: call it once per batch.
class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (a count, bytes, a ratio, a time in seconds).
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double n) { value_.fetch_add(n, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed buckets (seconds by default: 1 ms .. 60 s).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t bucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// All metrics of the process. Registration takes a lock (at start-up); updates don't.
// Metrics live as long as the registry; references stay valid.
class MetricsRegistry {
 public:
  Counter& counter(std::string name, std::string help, Labels labels = {});
  Gauge& gauge(std::string name, std::string help, Labels labels = {});
  Histogram& histogram(std::string name, std::string help, Labels labels = {});
  // A counter whose value is read from elsewhere and set at a scrape (process CPU seconds):
  // typed counter, stored as a gauge. The caller only ever sets it higher.
  Gauge& readCounter(std::string name, std::string help, Labels labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string renderPrometheus() const;
  // OpenMetrics 1.0 text (a counter's family is named without `_total`, its sample with it;
  // ends with `# EOF`), for a scraper whose Accept asks for application/openmetrics-text.
  std::string renderOpenMetrics() const;
  // Called by the monitor's thread before each exposition, without the registry's lock: sets
  // the gauges that are read from state rather than counted (buffer fill, process figures).
  // Set by the engine before the monitor starts.
  void setCollector(std::function<void()> collect) { collector_ = std::move(collect); }
  void collect() const {
    if (collector_) collector_();
  }
  // "name{labels} help" lines, sorted (for --list-metrics).
  std::vector<std::string> describe() const;
  // Current value of a counter or gauge (a histogram's count), summed over the label sets
  // matching `labels` (a subset). Takes the lock: for the end of a run and for tests.
  double sum(std::string_view name, const Labels& labels = {}) const;
  double valueForTest(std::string_view name, const Labels& labels = {}) const { return sum(name, labels); }

 private:
  enum class Type { Counter, Gauge, Histogram };
  struct Entry {
    std::string name;
    std::string help;
    Labels labels;
    Type type;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Entry* findLocked(std::string_view name, const Labels& labels);
  std::string render(bool openmetrics) const;

  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // guarded by mu_
  std::function<void()> collector_;
};

// Sets process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds (the Prometheus client
// libraries' names) from /proc/self. Called at a scrape (the collector's thread).
void collectProcessMetrics(MetricsRegistry& registry);

// The metrics of one plugin instance: names get the `sluice_<kind>_` prefix and every series
// the labels plugin_id and type.
class PluginMetrics {
 public:
  PluginMetrics(MetricsRegistry& registry, std::string kind, std::string type, std::string id)
      : registry_(&registry), kind_(std::move(kind)), type_(std::move(type)), id_(std::move(id)) {}

  // `tail` like "received_records_total"; plugin-specific metrics pass "<type>_<noun>_total"
  // through pluginCounter().
  Counter& counter(std::string_view tail, std::string help, Labels extra = {});
  Counter& pluginCounter(std::string_view tail, std::string help, Labels extra = {});
  Gauge& gauge(std::string_view tail, std::string help, Labels extra = {});
  Histogram& histogram(std::string_view tail, std::string help, Labels extra = {});
  MetricsRegistry& registry() { return *registry_; }

 private:
  Labels labels(Labels extra) const;
  MetricsRegistry* registry_;
  std::string kind_, type_, id_;
};

}  // namespace sluice
