// SPDX-License-Identifier: Apache-2.0
#pragma once

// The pipeline's bookkeeping of a plugin instance and of a filter's place in routes. Plain
// data, written while the pipeline is built (main thread) and read afterwards from any thread.

#include <memory>
#include <string>
#include <vector>

#include "config/element.h"
#include "core/filter.h"
#include "core/plugin_base.h"
#include "monitor/log.h"
#include "monitor/metrics.h"

namespace sluice::engine {

// Bookkeeping of one plugin instance (also nested ones such as a <parse> parser).
struct Instance {
  PluginKind kind;
  std::string type;
  std::string id;
  const config::Element* element = nullptr;
  SourceLogger log;
  std::unique_ptr<PluginMetrics> metrics;
  // Labels the plugin sends to (PluginContext::labelSink), for the --graph view.
  std::vector<std::string> routes_to;
};

// A filter in the pipeline, with its standard metrics.
struct FilterStage {
  Filter* filter;
  Instance* instance;
  Counter* received;
  Counter* sent;
  Counter* discarded;
};

}  // namespace sluice::engine
