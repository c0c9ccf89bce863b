// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "core/arena.h"
#include "core/status.h"
#include "core/value.h"

namespace sluice {

// Bytes simdjson may read past the end of a "padded" input.
inline constexpr size_t kJsonPadding = 64;

// Parses one JSON document into a Value whose strings live in `arena`.
// With `padded`, the caller promises kJsonPadding readable bytes after `text` (e.g. the rest
// of a read buffer), which saves a copy. Uses a per-thread simdjson parser.
Result<Value> parseJson(std::string_view text, Arena& arena, bool padded = false);

// Appends `value` as compact JSON. Strings are escaped as JSON requires; invalid UTF-8 is
// replaced with U+FFFD, never emitted raw. NaN and infinities become null.
void appendJson(std::string& out, const Value& value);
void appendJsonString(std::string& out, std::string_view s);
std::string toJson(const Value& value);

// Appends the members of object `object` for which `skip(key)` is false as `"k":v` pairs
// separated by commas, without braces (callers add members of their own). `first`: nothing
// was written before inside the braces. Returns whether still nothing is written.
template <class Skip>
bool appendJsonMembers(std::string& out, const Value& object, Skip skip, bool first = true) {
  for (const Member& m : object.members()) {
    if (skip(m.key)) continue;
    if (!first) out += ',';
    first = false;
    appendJsonString(out, m.key);
    out += ':';
    appendJson(out, m.value);
  }
  return first;
}

// True when `s` is valid UTF-8.
bool isValidUtf8(std::string_view s);

}  // namespace sluice
