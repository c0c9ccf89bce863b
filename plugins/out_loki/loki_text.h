// SPDX-License-Identifier: Apache-2.0
#pragma once

// Loki's text forms shared by the files of the plugin (loki_text.cc): label names and label
// sets, values as label text, Go's time strings in Loki's answers. Pure functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/plugin_api.h"

namespace sluice::plugins::out_loki {

// Loki label names: [a-zA-Z_][a-zA-Z0-9_]*; other characters become _.
void sanitizeLabelName(std::string& name);
bool validLabelName(const std::string& name);
// A scalar as label or line text (strings as they are, other values as JSON).
void appendScalar(std::string& out, const Value& v);
// Where the label set at the start of `s` ends (past its '}'), or npos.
size_t labelSetEnd(std::string_view s);
// The reason class of one of Loki's refusal messages, for the per-reason counter.
std::string_view reasonClass(std::string_view message);
// Go's time.Time.String() as Loki prints entry times: "2006-01-02 15:04:05.999 -0700 MST".
std::optional<int64_t> parseGoTime(std::string_view s);

}  // namespace sluice::plugins::out_loki
