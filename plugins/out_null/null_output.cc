// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_null/null_output.h"

namespace sluice::plugins::out_null {
namespace {
const std::array<Param<NullConfig>, 0> kParams = {};
}  // namespace

Result<std::unique_ptr<NullOutput>> NullOutput::create(const NullConfig&, PluginContext&) {
  return std::make_unique<NullOutput>();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<NullOutput>(
      PluginKind::Output, "null", "Discards events.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_null
