// SPDX-License-Identifier: Apache-2.0
#pragma once

// `sluice tap`: samples of the events passing a point of the running pipeline, streamed by the
// monitor (GET /api/tap) as JSON lines. A point is "after plugin @id" (what an input emitted,
// what a filter let through, what an output was handed) or "events of tags matching PATTERN as
// they reach their output". Off unless <monitor> enable_tap is true.
//
// Cost to the pipeline: with nobody tapping, one relaxed atomic load per batch at each point.
// While someone taps, a point that matches takes the subscription's lock once per batch and
// copies at most `rate` events a second (a token bucket): the rest are skipped and counted. The
// copies go through every `redact` filter of the pipeline before they leave, so a tap before
// the redact filter shows no more than one after it.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/filter.h"
#include "core/tag_pattern.h"
#include "monitor/metrics.h"

namespace sluice {

class TapHub {
 public:
  explicit TapHub(MetricsRegistry& metrics);

  struct Options {
    std::string after;               // a plugin @id, or ""
    std::optional<TagPattern> tags;  // or a tag pattern (at the outputs)
    double rate = 10;                // events per second at most (a burst of as many)
  };
  class Subscription;

  // The monitor's thread: starts a tap; it receives events until unsubscribed.
  std::shared_ptr<Subscription> subscribe(Options options);
  void unsubscribe(const std::shared_ptr<Subscription>& s);

  // Pipeline threads, once per batch: cheap when nobody taps.
  bool active() const { return active_.load(std::memory_order_relaxed) > 0; }
  // `point` is the @id of the plugin the batch just passed; `at_output` when it is being handed
  // to an output (where tag taps look). `redactors` are the pipeline's redact filters.
  void offer(std::string_view point, bool at_output, const Batch& batch,
             const std::vector<Filter*>& redactors);

 private:
  MetricsRegistry& metrics_;
  std::atomic<int> active_{0};
  std::mutex mu_;  // guards subs_
  std::vector<std::shared_ptr<Subscription>> subs_;
  Counter* sent_;
  Counter* skipped_;
  Gauge* sessions_;
};

class TapHub::Subscription {
 public:
  explicit Subscription(Options o) : options_(std::move(o)), tokens_(options_.rate) {}
  // The monitor's thread: waits up to `wait_ms` for lines; empty when none came.
  std::vector<std::string> take(int wait_ms);
  const Options& options() const { return options_; }

 private:
  friend class TapHub;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  double tokens_;             // guarded by mu_
  int64_t refilled_ns_ = 0;   // guarded by mu_
  std::deque<std::string> lines_;  // guarded by mu_; bounded
};

}  // namespace sluice
