// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::out_null {

struct NullConfig {};

// Fluentd's out_null: discards events (the engine counts them as sent).
// Threading: stateless; emit() runs concurrently on the threads of the inputs whose batches
// reach it.
class NullOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<NullOutput>> create(const NullConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch&) override { return Status::ok(); }
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_null
