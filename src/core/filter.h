// SPDX-License-Identifier: Apache-2.0
#pragma once

// The filter plugin interface. Part of the plugin API (core/plugin_api.h).

#include <memory>

#include "core/batch.h"
#include "core/plugin_base.h"

namespace sluice {

// Transforms a batch in place: may change records, drop events (Batch::eraseIf), or hand
// events to @ERROR (Batch::emitError). Immutable after create(); process() runs concurrently
// on the threads of the inputs that emit into the filter's route.
class Filter : public Plugin {
 public:
  virtual void process(Batch& batch) = 0;
  // Whether samples that leave the process (`sluice tap`) must first pass through this
  // filter, as one that removes secrets says. Asked by the engine when taps are set up.
  virtual bool redactsTaps() const { return false; }
};
using FilterPtr = std::unique_ptr<Filter>;

}  // namespace sluice
