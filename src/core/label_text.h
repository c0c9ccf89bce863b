// SPDX-License-Identifier: Apache-2.0
#pragma once

// The label-set text of Prometheus and Loki ({a="1", b="2"}) read back into pairs: the one
// parser of that text in the tree (the loki output reads label sets with it off the hot path,
// the Loki stand-in reads the label sets of the pushes it receives). Its inverse for values is
// appendLabelValue (core/format.h). Pure; any thread.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// Parses `{name="value", ...}` with any spacing around the braces, names, `=` and `,`; names are
// [a-zA-Z_][a-zA-Z0-9_]*, values are double-quoted with `\n` for a newline and a backslash before
// any other character standing for that character. Fills `out` in text order; false on any
// syntax error (then `out` is unspecified).
bool parseLabelSet(std::string_view text, std::vector<std::pair<std::string, std::string>>& out);

// Appends `value` as Loki's label parser (Prometheus's lexer, Go strings) reads it between double
// quotes: `"` and `\` escaped, a newline as `\n`, and U+FFFD or any byte that is not part of
// valid UTF-8 as `\ufffd` (the lexer refuses a raw U+FFFD as "invalid UTF-8 rune", and the JSON
// parser turns every invalid byte of a log line into one). parseLabelSet reads it back.
void appendLokiLabelValue(std::string& out, std::string_view value);

}  // namespace sluice
