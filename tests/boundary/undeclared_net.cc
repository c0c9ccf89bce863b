// SPDX-License-Identifier: Apache-2.0
// Boundary probe: a plugin that uses the HTTP client without declaring USES net. Must not build.
#include "core/plugin_api.h"
#include "net/http_client.h"
