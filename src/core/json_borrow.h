// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "core/arena.h"
#include "core/json.h"
#include "core/status.h"
#include "core/value.h"

namespace sluice {

// parseJson (core/json.h) whose keys and strings written without an escape point into `text`
// instead of being copied into `arena` (those with escapes, and everything the tolerant reader
// repairs, are copied as parseJson copies them). For parsers, whose results may point into
// their lines (core/parser.h). REQUIRES: `text` outlives the value and is never changed.
// Any thread.
Result<Value> parseJsonBorrowing(std::string_view text, Arena& arena, bool padded = false,
                                 JsonRepairs* repairs = nullptr);

}  // namespace sluice
