// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "config/element.h"
#include "config/ruby_eval.h"
#include "core/status.h"

namespace sluice::config {

// Reads Fluentd's v1 configuration syntax into an Element tree: directives and nested
// sections to any depth, `key value` lines, unquoted / 'single' / "double" quoted values with
// Fluentd's escapes, multi-line JSON arrays and hashes (with # and // comments), "#{...}"
// embedded expressions (see ruby_eval.h), comments, and `@include` (relative to the including
// file, globs expanded and sorted, cycles rejected). Every error names file:line.
Result<Element> parseConfigFile(const std::string& path, const EvalEnvironment& environment);
Result<Element> parseConfigText(std::string_view text, const std::string& name,
                                const std::string& base_dir, const EvalEnvironment& environment);

// Parses one literal (the part after a key) — exposed for the literal-parser tests.
// Returns nullopt for an empty unquoted literal (Fluentd's nil).
Result<std::optional<std::string>> parseLiteralForTest(std::string_view text,
                                                       const EvalEnvironment& environment);

}  // namespace sluice::config
