// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::in_sample {

struct SampleConfig {
  std::string tag;
  int64_t size = 1;
  double rate = 1;
  std::optional<std::string> auto_increment_key;
  bool suspend = false;
  std::string sample;
};

// Fluentd's in_sample (formerly dummy): emits the given records `rate` times a second, `size`
// events each time, cycling through the samples. For demos, tests and benchmarks.
// Threading: run() on the input's own thread until its StopToken fires; start/stop on the main
// thread.
class SampleInput final : public Input {
 public:
  static Result<std::unique_ptr<SampleInput>> create(const SampleConfig& config, PluginContext& ctx);

  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

 private:
  SampleInput(const SampleConfig& config, std::vector<Value> samples, std::unique_ptr<Arena> arena);

  const std::string tag_;
  const size_t size_;
  const double rate_;
  const std::optional<std::string> increment_key_;
  const std::vector<Value> samples_;      // immutable; deep-copied into each batch
  const std::unique_ptr<Arena> arena_;    // holds samples_
  SourceLogger log_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_sample
