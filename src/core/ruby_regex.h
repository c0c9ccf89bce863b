// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <re2/re2.h>

#include "core/status.h"

namespace sluice {

// Fluentd configs carry regexps in Ruby's dialect. This one shared layer maps them to RE2:
// `/re/flags` or a bare pattern; `(?<name>…)` → `(?P<name>…)`; `\h` / `\H`; `\Z`; flags `i`
// and `m` (Ruby's m = dot matches newline); `^` and `$` match at line boundaries as in Ruby.
// What RE2 cannot do (lookaround, backreferences, atomic groups, `x` flag) is an error that
// names the construct. RE2 runs in linear time on any input.
Result<std::string> translateRubyRegex(std::string_view ruby);

// Translates and compiles. The error message includes RE2's own text.
Result<std::unique_ptr<RE2>> compileRubyRegex(std::string_view ruby);

}  // namespace sluice
