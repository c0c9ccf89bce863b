// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_api.h"

namespace sluice::plugins::out_null {

struct NullConfig {};

// Discards events (they are counted as sent by the engine).
class NullOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<NullOutput>> create(const NullConfig&, PluginContext&) {
    return std::make_unique<NullOutput>();
  }
  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch&) override { return Status::ok(); }
};

namespace {
const std::array<Param<NullConfig>, 0> kParams = {};
}  // namespace

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<NullOutput>(
      PluginKind::Output, "null", "Discards events.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_null
