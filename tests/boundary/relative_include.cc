// SPDX-License-Identifier: Apache-2.0
// Boundary probe: reaches an engine header by a path relative to this file, which the include
// views cannot stop (the header includes only what plugins may see, so it compiles).
// check_plugin_includes.py must refuse what it read.
#include "../../src/engine/build_messages.h"

namespace sluice {
std::string probeRelative(const config::Element& e) { return engine::sectionHeader(e); }
}  // namespace sluice
