// SPDX-License-Identifier: Apache-2.0
#pragma once

// Everything a plugin may use. Plugins include this and third-party headers only.
#include "config/types.h"
#include "core/arena.h"
#include "core/batch.h"
#include "core/field_path.h"
#include "core/format.h"
#include "core/json.h"
#include "core/parser_common.h"
#include "core/plugin.h"
#include "core/ruby_regex.h"
#include "core/status.h"
#include "core/time.h"
#include "core/value.h"
#include "monitor/log.h"
#include "monitor/metrics.h"
#include "core/line_buffer.h"
#include "core/container_log.h"
#include "core/placeholders.h"
