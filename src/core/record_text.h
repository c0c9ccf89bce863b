// SPDX-License-Identifier: Apache-2.0
#pragma once

// Records written as text in the forms Fluentd's formatters use: LTSV, one field's value, and
// Ruby's Hash#inspect (the `hash` output_type of Fluentd's stdout formatter). Shared by the
// formatter plugins (ltsv, single_value, stdout); not part of core/plugin_api.h. Pure
// functions, called on any thread.

#include <string>
#include <string_view>

#include "core/value.h"

namespace sluice {

// label:value pairs of the record's top level joined by `delimiter`; strings as they are,
// other values as JSON. No newline.
void appendLtsv(std::string& out, const Value& record, std::string_view delimiter, std::string_view label_delimiter);

// The value of `key` (a string as it is, another value as JSON; nothing when absent). No newline.
void appendSingleValue(std::string& out, const Value& record, std::string_view key);

// `value` as Ruby (before 3.4) inspects it: {"k"=>"v", "n"=>1, "a"=>[1, 2.5, nil, true]}.
void appendRubyInspect(std::string& out, const Value& value);

}  // namespace sluice
