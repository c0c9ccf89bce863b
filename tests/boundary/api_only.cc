// SPDX-License-Identifier: Apache-2.0
// Boundary probe: what every plugin may include. Must build (PluginBoundary.ApiBuilds), which
// shows that the probes that must not build fail for the include alone.
#include "core/plugin_api.h"
#include "net/http_client.h"
#include "codec/codec.h"

namespace sluice::boundary_probe {
int probe() { return static_cast<int>(PluginKind::Output); }
}  // namespace sluice::boundary_probe
