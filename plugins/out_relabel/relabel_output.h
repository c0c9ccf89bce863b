// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::out_relabel {

struct RelabelConfig {
  std::string label;
};

// Fluentd's out_relabel: sends events to the filters and matches of another <label>, resolved
// once at create() (PluginContext::labelSink).
// Threading: immutable after create(); emit() runs concurrently on the threads of the inputs
// whose batches reach it, and carries on into the label's route on that thread.
class RelabelOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<RelabelOutput>> create(const RelabelConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override { return target_->emit(batch); }

 private:
  explicit RelabelOutput(EventSink* target) : target_(target) {}
  EventSink* const target_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_relabel
