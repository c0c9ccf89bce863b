// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "core/arena.h"
#include "core/chunk_view.h"
#include "core/status.h"
#include "core/value.h"

namespace sluice {

// Bytes simdjson may read past the end of a "padded" input.
inline constexpr size_t kJsonPadding = 64;

// Objects and arrays nested deeper than this are an error (simdjson's default depth).
inline constexpr size_t kMaxJsonDepth = 1024;

// What parseJson repaired rather than reject the line (a log collector keeps the line).
// Counts accumulate; callers publish them once per batch.
struct JsonRepairs {
  uint64_t invalid_utf8 = 0;     // bytes of invalid UTF-8 in strings, each now U+FFFD
  uint64_t lone_surrogates = 0;  // \uD800-\uDFFF escapes without their pair, each now U+FFFD
  uint64_t number_text = 0;      // numbers kept as their literal text (Value::numberText)
  uint64_t duplicate_keys = 0;   // object members dropped because a later one had their key
  uint64_t total() const { return invalid_utf8 + lone_surrogates + number_text + duplicate_keys; }
  JsonRepairs& operator+=(const JsonRepairs& o) {
    invalid_utf8 += o.invalid_utf8;
    lone_surrogates += o.lone_surrogates;
    number_text += o.number_text;
    duplicate_keys += o.duplicate_keys;
    return *this;
  }
};

// Parses one JSON document into a Value whose strings live in `arena`.
// With `padded`, the caller promises kJsonPadding readable bytes after `text` (e.g. the rest
// of a read buffer), which saves a copy. Uses a per-thread simdjson parser; a document
// simdjson refuses is read again by a tolerant reader that repairs rather than rejects:
//  - invalid UTF-8 in a string: each bad byte becomes U+FFFD;
//  - an escaped lone surrogate (\ud800, as JavaScript's JSON.stringify writes): U+FFFD;
//  - a number no 64-bit type holds exactly (integers beyond int64, including those between
//    2^63 and 2^64, -0, and floats such as 1e999 that overflow a double): kept as its literal
//    text, written back unquoted (Value::numberText);
//  - duplicate keys: the last value wins, at the position of the first (as Ruby's and most
//    JSON readers do), so every filter and output sees the same record.
// Each repair is added to `repairs` when given. Structural errors and nesting deeper than
// kMaxJsonDepth are still errors.
Result<Value> parseJson(std::string_view text, Arena& arena, bool padded = false,
                        JsonRepairs* repairs = nullptr);

// Appends `value` as compact JSON. Strings are escaped as JSON requires; invalid UTF-8 is
// replaced with U+FFFD, never emitted raw. NaN and infinities become null.
void appendJson(std::string& out, const Value& value);
// The same into an output's formatted events (`out` is `events->bytes`): where `events` takes
// splices (a file buffer's), the JSON of an unchanged JsonTemplate is listed as a splice
// instead of copied, so the buffer keeps it once per chunk. On an output's format() path.
void appendJson(std::string& out, const Value& value, FormattedEvents* events);
void appendJsonString(std::string& out, std::string_view s);
std::string toJson(const Value& value);
// One member, `"key":value`, after a comma when `comma`; `events`: as for appendJson. A key and
// a string value that need no escaping (most) go in with one append.
void appendJsonMember(std::string& out, std::string_view key, const Value& value, bool comma,
                      FormattedEvents* events = nullptr);

// Appends the members of object `object` for which `skip(key)` is false as `"k":v` pairs
// separated by commas, without braces (callers add members of their own). `first`: nothing
// was written before inside the braces. Returns whether still nothing is written. `events`:
// as for appendJson.
template <class Skip>
bool appendJsonMembers(std::string& out, const Value& object, Skip skip, bool first = true,
                       FormattedEvents* events = nullptr) {
  for (const Member& m : object.members()) {
    if (skip(m.key)) continue;
    appendJsonMember(out, m.key, m.value, !first, events);
    first = false;
  }
  return first;
}

// True when `s` is valid UTF-8.
bool isValidUtf8(std::string_view s);
// Length of the valid UTF-8 character at s[i] (1 for ASCII), or 0 when the byte there does not
// start one. REQUIRES: i < s.size().
size_t utf8CharLength(std::string_view s, size_t i);

}  // namespace sluice
