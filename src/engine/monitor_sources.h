// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fluentd's monitoring <source> types, which sluice serves from its own monitor servers
// instead of running an input: prometheus, prometheus_monitor, prometheus_output_monitor and
// monitor_agent (engine/pipeline_system.cc). Their parameters are tables like every plugin's:
// Pipeline::addMonitorSource binds a source with them and reports unknown keys as it does for
// plugins, and `sluice --describe` and the README show them. The descriptors have no create:
// no registry holds them, and nothing builds them as plugins. Main thread.

#include <span>
#include <string_view>

#include "core/descriptor.h"

namespace sluice::engine {

// The four monitoring source types, in the order above.
std::span<const PluginDescriptor* const> monitorSourceDescriptors();
// The monitoring source called `type`, or null when `type` is no monitoring source.
const PluginDescriptor* findMonitorSource(std::string_view type);

}  // namespace sluice::engine
