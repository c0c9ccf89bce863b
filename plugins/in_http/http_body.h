// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the http input reads from a request before any event exists: the body's records (JSON,
// NDJSON, MessagePack), form and query parameters, and the `time` values. Pure functions on
// bytes, no sockets: the http input's request threads call them, and so does the `http_body`
// fuzz target. Thread-safe (no shared state; each call uses the caller's arena and vectors).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::plugins::in_http {

enum class BodyFormat { Json, Ndjson, Msgpack };

// Nesting deeper than this in a MessagePack body is refused (JSON's limit is kMaxJsonDepth).
inline constexpr size_t kMaxMsgpackDepth = 512;

// Appends the records of `body` to `out`: a JSON object or an array of objects; NDJSON (one
// object or array per line, blank lines skipped); MessagePack (one or more maps or arrays of
// maps, one after another). Strings point into `body` (MessagePack) or `arena` (JSON). Returns
// an error naming what is wrong (the request is refused as a whole: nothing of it is emitted).
Status decodeRecords(BodyFormat format, std::string_view body, Arena& arena, std::vector<Value>& out);

// The decoded parameters of `text` (`a=1&b=%20x`, `+` is a space as in HTML forms), in order.
// Strings point into `arena`. Names are case-sensitive, as in Fluentd.
using Params = std::vector<std::pair<std::string_view, std::string_view>>;
void parseFormParams(std::string_view text, Arena& arena, Params& out);
std::optional<std::string_view> findParam(const Params& params, std::string_view name);

// A `time` query/form parameter or record field: seconds since the epoch, integer or with a
// fraction, as a number or its text. nullopt when it is not a number.
std::optional<int64_t> parseEpochSeconds(std::string_view text);
std::optional<int64_t> epochOfValue(const Value& value);

// `CONTENT-TYPE` → `HTTP_CONTENT_TYPE` (Fluentd's add_http_headers naming), in `arena`.
std::string_view headerFieldName(std::string_view header, Arena& arena);

}  // namespace sluice::plugins::in_http
