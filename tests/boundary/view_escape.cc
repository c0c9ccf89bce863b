// SPDX-License-Identifier: Apache-2.0
// Boundary probe: climbs out of the core view through its symbolic link (core/.. is src/) to an
// engine header. It compiles; check_plugin_includes.py must refuse what it read.
#include "core/../engine/build_messages.h"

namespace sluice {
std::string probeViewEscape(const config::Element& e) { return engine::sectionHeader(e); }
}  // namespace sluice
