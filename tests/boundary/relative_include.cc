// SPDX-License-Identifier: Apache-2.0
// Boundary probe: reaches a buffer header by a path relative to this file, which the include
// views cannot stop. It compiles; check_plugin_includes.py must refuse what it read.
#include "../../src/buffer/buffer_config.h"

namespace sluice {
size_t probeRelative() { return kBufferParamCount; }
}  // namespace sluice
