// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_api.h"

namespace sluice::plugins::out_relabel {

struct RelabelConfig {
  std::string label;
};

// Sends events to the filters and matches of another <label>.
class RelabelOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<RelabelOutput>> create(const RelabelConfig& config, PluginContext& ctx) {
    auto sink = ctx.labelSink(config.label);
    if (!sink) return sink.takeStatus();
    return std::unique_ptr<RelabelOutput>(new RelabelOutput(*sink));
  }
  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override { return target_->emit(batch); }

 private:
  explicit RelabelOutput(EventSink* target) : target_(target) {}
  EventSink* const target_;
};

namespace {
const std::array<Param<RelabelConfig>, 1> kParams = {{
    {"@label", &RelabelConfig::label, nullptr, "The label (like @NAME) whose pipeline receives the events.", {}, kRequired},
}};
}  // namespace

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RelabelOutput>(
      PluginKind::Output, "relabel", "Routes events to another <label>.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_relabel
