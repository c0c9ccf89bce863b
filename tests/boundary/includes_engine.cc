// SPDX-License-Identifier: Apache-2.0
// Boundary probe: a plugin that reaches into the engine. Must not build.
#include "core/plugin_api.h"
#include "engine/pipeline.h"
