// SPDX-License-Identifier: Apache-2.0
#pragma once

// The input plugin interface. Part of the plugin API (core/plugin_api.h).

#include <memory>

#include "core/plugin_base.h"

namespace sluice {

// Reads events and emits batches. run() is called on a thread of its own and returns when
// `stop` is requested or the input is exhausted (stdin at EOF).
class Input : public Plugin {
 public:
  virtual Status run(EventSink& out, const StopToken& stop) = 0;
};
using InputPtr = std::unique_ptr<Input>;

}  // namespace sluice
