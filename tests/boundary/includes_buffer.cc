// SPDX-License-Identifier: Apache-2.0
// Boundary probe: a plugin that reaches into the buffer. Must not build.
#include "core/plugin_api.h"
#include "buffer/buffer.h"
