// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whole-buffer compression: gzip (zlib) and zstd. A library of its own (sluice_codec) that the
// buffer uses for sealed chunks and that plugins may link (out_elasticsearch and out_loki gzip
// their request bodies). Stateless functions; any thread.

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::codec {

enum class Compression { Text, Gzip, Zstd };

Compression compressionFromName(std::string_view name);  // "text" | "gzip" | "zstd"
std::string_view compressionName(Compression c);
// `level` < 0: the codec's default (gzip 6, zstd 3).
Result<std::string> compress(Compression c, std::string_view data, int level = -1);
Result<std::string> decompress(Compression c, std::string_view data);

}  // namespace sluice::codec
