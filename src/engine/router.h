// SPDX-License-Identifier: Apache-2.0
#pragma once

// The router: an Agent (the configuration's root or one <label>) sends a batch through the
// filters and the first <match> of its tag's route; an InputStage is where an input's batches
// enter. Both run on the emitting input's thread; the route cache takes one lock per batch.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/input.h"
#include "core/tag_pattern.h"
#include "engine/instance.h"
#include "engine/output_stage.h"
#include "monitor/tap.h"

namespace sluice::engine {

class Pipeline;

// The root of the configuration or one <label>: filters and matches in config order.
// A tag's route (the matching filters before the first matching <match>, and that match) is
// computed once and cached.
class Agent : public EventSink {
 public:
  Agent(Pipeline& pipeline, std::string name) : pipeline_(pipeline), name_(std::move(name)) {}

  struct Entry {
    bool is_filter;
    TagPattern pattern;
    FilterStage* filter = nullptr;  // is_filter
    OutputStage* output = nullptr;  // !is_filter
  };
  void add(Entry entry) { entries_.push_back(std::move(entry)); }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& name() const { return name_; }

  Status emit(Batch& batch) override;

 private:
  struct Route {
    std::vector<FilterStage*> filters;
    OutputStage* output = nullptr;
  };
  // The tag's route, shared: another thread may drop it from the cache (the cache is bounded)
  // while this one still uses it. One lock per batch, not per event.
  std::shared_ptr<const Route> routeFor(std::string_view tag);
  Status emitRun(Batch& batch, std::string_view tag);

  struct TagHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Pipeline& pipeline_;
  std::string name_;
  std::vector<Entry> entries_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Route>, TagHash, std::equal_to<>> routes_;  // guarded by mu_
};

// An input and the agent its events go to.
struct InputStage : public EventSink {
  Input* input;
  Instance* instance;
  Agent* target;
  Counter* received;
  TapHub* tap = nullptr;  // `sluice tap`, when <monitor> enable_tap
  const std::vector<Filter*>* redactors = nullptr;
  Status emit(Batch& batch) override {
    received->add(batch.size());
    if (tap != nullptr && tap->active()) tap->offer(instance->id, false, batch, *redactors);
    return target->emit(batch);
  }
};

}  // namespace sluice::engine
