// SPDX-License-Identifier: Apache-2.0
#pragma once

// The label-set text of a Loki push, as the Loki stand-in reads and writes it. Written for the
// stand-in from Loki's and Prometheus's code, not shared with the loki output (which has its own
// parser in core/label_text): a bug in the output's reading or writing of labels must not be
// repeated by the stand-in that judges it. Pure; any thread.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::testing {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// Loki's reading of a stream's labels (syntax.ParseLabels): Prometheus's ParseMetric
// (promql/parser/lex.go, generated_parser.y), then the labels whose value is empty dropped and
// the rest sorted by name. The text is `{name="value", ...}`:
// - space, tab, newline and carriage return anywhere between tokens; `#` starts a comment to
//   the end of the line; a comma may follow the last pair; `{}` is an empty set;
// - names [a-zA-Z_][a-zA-Z0-9_]* (no `:`, no quoted names); only `=` (no `!=`, `=~`, `!~`);
// - values in double or single quotes with Go's escapes (\a \b \f \n \r \t \v \\ and the
//   quote that opened the string, \NNN octal up to 255, \xNN, \uNNNN and \UNNNNNNNN, not
//   surrogates or past U+10FFFF), no raw newline; or in backquotes, raw, newlines included;
// - the text is UTF-8 (a U+FFFD in it is refused too, as Prometheus's lexer does).
// A metric name before the braces (Prometheus's __name__) is refused here: a push never has one.
// Returns "" and fills `out`; or the error as Loki words it ("1:7: parse error: ...").
std::string parseLokiLabels(std::string_view text, LabelPairs& out);

// Loki's text of a label set (Prometheus's Labels.String()): {a="1", b="2"}, sorted by name,
// values quoted as Go's strconv.Quote does (\" \\ \a \b \f \n \r \t \v, other controls and
// invalid UTF-8 bytes as \xNN, C1 controls and the common invisible format characters as
// \uNNNN; other non-ASCII characters as they are).
std::string lokiLabels(LabelPairs pairs);

}  // namespace sluice::testing
