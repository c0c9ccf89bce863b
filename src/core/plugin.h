// SPDX-License-Identifier: Apache-2.0
#pragma once

// Transition umbrella: the plugin interfaces, one header each. New code includes the header
// it needs (core/input.h, core/parser.h, ...) or, in a plugin, core/plugin_api.h; this file
// stays only so that code not yet moved keeps building, and goes once nothing includes it.

#include "config/bind.h"
#include "config/params.h"
#include "core/chunk_view.h"
#include "core/descriptor.h"
#include "core/filter.h"
#include "core/input.h"
#include "core/output.h"
#include "core/parser.h"
#include "core/plugin_base.h"
#include "core/plugin_context.h"
