// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <random>

#include "core/plugin_api.h"

namespace sluice::plugins::out_roundrobin {

struct RoundRobinConfig {};
struct StoreConfig {
  int64_t weight = 1;
};

// Fluentd's out_roundrobin: each batch goes to the next <store> in turn. Weights repeat a
// store weight/gcd times in the rotation; when any weight is above 1 the rotation is shuffled
// once at start (as Fluentd does), else it is the stores' order.
// Threading: immutable after create() but for the turn counter (an atomic); emit() runs
// concurrently on the threads of the inputs whose events reach it.
class RoundRobinOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<RoundRobinOutput>> create(const RoundRobinConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override {
    uint64_t turn = next_.fetch_add(1, std::memory_order_relaxed);
    return rotation_[turn % rotation_.size()]->emit(batch);
  }

  // The rotation (one entry per turn), for tests.
  const std::vector<EventSink*>& rotation() const { return rotation_; }

 private:
  explicit RoundRobinOutput(std::vector<EventSink*> rotation) : rotation_(std::move(rotation)) {}
  const std::vector<EventSink*> rotation_;
  std::atomic<uint64_t> next_{0};
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_roundrobin
