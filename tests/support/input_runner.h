// SPDX-License-Identifier: Apache-2.0
#pragma once

// For tests of network inputs: a sink that keeps what arrives, and an input built from config
// text, started (bound: port 0 gives the port the system chose) and run on its own thread until
// the runner goes out of scope.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/plugin_api.h"
#include "support/test_support.h"

namespace sluice::testing {

// Keeps "tag json" lines and event times. Thread-safe.
class EventCollector : public EventSink {
 public:
  Status emit(Batch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Event& e : batch.events()) {
      lines_.push_back(std::string(e.tag) + " " + toJson(e.record));
      times_.push_back(e.time_ns);
    }
    return Status::ok();
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::vector<int64_t> times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_.size();
  }
  bool waitCount(size_t n) {
    return waitFor([&] { return count() >= n; });
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::vector<int64_t> times_;
};

// The sum of the series of metric `name` whose line holds `label` (all when empty), as
// /metrics would show it.
inline uint64_t metricSum(const MetricsRegistry& registry, std::string_view name, std::string_view label = "") {
  std::string text = registry.renderPrometheus();
  uint64_t sum = 0;
  for (size_t s = 0, nl; (nl = text.find('\n', s)) != std::string::npos; s = nl + 1) {
    std::string_view line(text.data() + s, nl - s);
    if (!line.starts_with(name) || (!label.empty() && line.find(label) == std::string_view::npos)) continue;
    sum += std::stoull(std::string(line.substr(line.rfind(' ') + 1)));
  }
  return sum;
}

// Input T of `type` made from `body`, started and running into `sink`.
template <class T>
class RunningInput {
 public:
  RunningInput(std::string_view type, const std::string& body, EventSink& sink) {
    input = factory.mustMake<T>(PluginKind::Input, type, body);
    Status s = input->start();
    EXPECT_TRUE(s.isOk()) << s.message();
    thread_ = std::thread([this, &sink] { EXPECT_TRUE(input->run(sink, stop_).isOk()); });
  }
  ~RunningInput() { finish(); }
  // Stops the input and waits for run() to return.
  void finish() {
    if (!thread_.joinable()) return;
    stop_.requestStop();
    thread_.join();
  }
  int port() const { return input->boundPort(); }
  uint64_t metric(std::string_view name, std::string_view label = "") {
    return metricSum(factory.metrics(), name, label);
  }

  PluginFactory factory;
  std::unique_ptr<T> input;

 private:
  StopToken stop_;
  std::thread thread_;
};

}  // namespace sluice::testing
