// SPDX-License-Identifier: Apache-2.0
// Boundary probe: climbs out of the core view through its symbolic link (core/.. is src/). It
// compiles; check_plugin_includes.py must refuse what it read.
#include "core/../buffer/buffer_config.h"

namespace sluice {
size_t probeViewEscape() { return kBufferParamCount; }
}  // namespace sluice
