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

// Text an output left out of FormattedEvents::bytes for a file buffer to keep once per chunk (the
// JSON of a pod's metadata that thousands of events share): it belongs at `at` in `bytes`.
struct Splice {
  uint32_t at = 0;
  uint64_t id = 0;        // names `text` for the life of the process (JsonTemplate::id)
  std::string_view text;  // valid until the events are appended to the buffer
};

// Events formatted by an output: their bytes back to back, and where each one ends.
// When the caller sets `splice_ok` (a file buffer), an output may leave shared text out of
// `bytes` and list it in `splices` instead (core/json.h's appendJson does that for the JSON of
// an unchanged JsonTemplate); an event's whole bytes are then its part of `bytes` with its
// splices put in. Outputs that do not splice write everything into `bytes`, as before.
struct FormattedEvents {
  std::string bytes;
  std::vector<uint32_t> ends;
  bool splice_ok = false;      // set by the caller of Output::format; kept by clear()
  std::vector<Splice> splices;  // in order of `at`
  // Per event, once there is a splice (empty before): the splices and their bytes up to its end.
  std::vector<uint32_t> splice_ends;
  std::vector<uint64_t> spliced_ends;

  void endEvent() {
    ends.push_back(static_cast<uint32_t>(bytes.size()));
    if (!splices.empty()) {
      splice_ends.push_back(static_cast<uint32_t>(splices.size()));
      spliced_ends.push_back(spliced_);
    }
  }
  // REQUIRES: splice_ok. `text` goes in at the current end of `bytes`.
  void addSplice(uint64_t id, std::string_view text) {
    if (splices.empty()) {
      splice_ends.assign(ends.size(), 0);
      spliced_ends.assign(ends.size(), 0);
    }
    splices.push_back(Splice{static_cast<uint32_t>(bytes.size()), id, text});
    spliced_ += text.size();
  }
  // Where event `i` ends in the whole bytes (splices put in), and the splices up to its end.
  uint64_t wholeEnd(size_t i) const { return ends[i] + (spliced_ends.empty() ? 0 : spliced_ends[i]); }
  size_t splicesTo(size_t i) const { return splice_ends.empty() ? 0 : splice_ends[i]; }
  void clear() {
    bytes.clear();
    ends.clear();
    splices.clear();
    splice_ends.clear();
    spliced_ends.clear();
    spliced_ = 0;
  }

 private:
  uint64_t spliced_ = 0;
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
