// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "core/plugin.h"

namespace sluice {

// Placeholders of chunk keys in an output's text (a path, an index name): ${tag},
// ${tag[N]} (negative N counts from the end), ${$.a.b} or ${field} for record-field chunk
// keys, and strftime (%Y%m%d…) of the time slice. Unknown placeholders stay as written.
std::string expandPlaceholders(std::string_view text, const ChunkKey& key, bool utc);

}  // namespace sluice
