// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_relabel/relabel_output.h"

namespace sluice::plugins::out_relabel {
namespace {
const std::array<Param<RelabelConfig>, 1> kParams = {{
    {"@label", &RelabelConfig::label, nullptr, "The label (like @NAME) whose pipeline receives the events.", {}, kRequired},
}};
}  // namespace

Result<std::unique_ptr<RelabelOutput>> RelabelOutput::create(const RelabelConfig& config, PluginContext& ctx) {
  auto sink = ctx.labelSink(config.label);
  if (!sink) return sink.takeStatus();
  return std::unique_ptr<RelabelOutput>(new RelabelOutput(*sink));
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RelabelOutput>(
      PluginKind::Output, "relabel", "Routes events to another <label>.", kParams).inPipelineOnly();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_relabel
