// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::buffer {

enum class Compression { Text, Gzip, Zstd };

Compression compressionFromName(std::string_view name);  // "text" | "gzip" | "zstd"
std::string_view compressionName(Compression c);
// `level` < 0: the codec's default (gzip 6, zstd 3).
Result<std::string> compress(Compression c, std::string_view data, int level = -1);
Result<std::string> decompress(Compression c, std::string_view data);

}  // namespace sluice::buffer
