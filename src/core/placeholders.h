// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "core/chunk_view.h"
#include "core/status.h"

namespace sluice {

// Placeholders of chunk keys in an output's text (a path, an index name): ${tag},
// ${tag[N]} (negative N counts from the end), ${$.a.b} or ${field} for record-field chunk
// keys, and strftime (%Y%m%d…) of the time slice. Unknown placeholders stay as written.
std::string expandPlaceholders(std::string_view text, const ChunkKey& key, bool utc);

// The same for a file path, where values come from log content (tags, record fields) and must
// not name another folder: each substituted value is one path component, with '/', '%' and
// NUL percent-encoded and a value of "." or ".." encoded whole (%2E, %2E%2E), so
// `../../etc` becomes `..%2F..%2Fetc`. A value that leaves an empty, "." or ".." path component
// (an empty value in `out/${$.user}/app.log` would name the folder above) is refused, as is a
// path longer than PATH_MAX: the error says which placeholder. Callers send
// the events of a refused path to their error stream (dead letters) and count them.
Result<std::string> expandPathPlaceholders(std::string_view text, const ChunkKey& key, bool utc);

// Appends `value` encoded as one path component (see expandPathPlaceholders).
void appendPathComponent(std::string& out, std::string_view value);

}  // namespace sluice
