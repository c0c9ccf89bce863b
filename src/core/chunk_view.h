// SPDX-License-Identifier: Apache-2.0
#pragma once

// What an output's format() fills and its write() reads: formatted events and the sealed
// chunk that holds them, with the key the chunk was cut by. Part of the plugin API
// (core/plugin_api.h); the buffer builds these, outputs read them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// What chunks are keyed by (<buffer tag, time, $.a.b>): events of one key share a chunk.
struct ChunkKey {
  std::string tag;
  int64_t time_slice = 0;  // start of the timekey slice, seconds
  std::vector<std::pair<std::string, std::string>> vars;  // record fields named as chunk keys
  bool operator==(const ChunkKey&) const = default;
};

// Events formatted by an output: their bytes back to back, and where each one ends.
struct FormattedEvents {
  std::string bytes;
  std::vector<uint32_t> ends;
  void endEvent() { ends.push_back(static_cast<uint32_t>(bytes.size())); }
  void clear() {
    bytes.clear();
    ends.clear();
  }
};

// A sealed chunk as an output writes it: the formatted events and their key.
struct ChunkView {
  ChunkView(std::string_view b = {}) : bytes(b) {}  // NOLINT: a whole payload (tests, replay)
  ChunkView(std::string_view b, std::span<const uint32_t> e, const ChunkKey* k) : bytes(b), ends(e), key(k) {}
  std::string_view bytes;
  std::span<const uint32_t> ends;
  const ChunkKey* key = nullptr;
  // The buffer chunks the view holds, in order (a flush thread may send several in one write):
  // chunk k's events end at event `chunk_ends[k]`; `chunk_ids[k]` is its id (a file chunk's
  // stays the same across restarts and retries, a memory chunk's for its life). Both empty when
  // the events do not come from a buffer. Outputs whose receivers deduplicate by chunk
  // (out_forward's chunk ids) read them.
  std::span<const size_t> chunk_ends;
  std::span<const std::string> chunk_ids;
  size_t events() const { return ends.size(); }
  std::string_view event(size_t i) const {
    uint32_t start = i == 0 ? 0 : ends[i - 1];
    return bytes.substr(start, ends[i] - start);
  }
};

}  // namespace sluice
