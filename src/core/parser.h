// SPDX-License-Identifier: Apache-2.0
#pragma once

// The parser plugin interface: lines in, records out, a batch at a time. Part of the plugin
// API (core/plugin_api.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/arena.h"
#include "core/plugin_base.h"
#include "core/value.h"

namespace sluice {

// The result of parsing one line. `error` is a static string when the line was rejected;
// `held` means the line was taken into the parser's state (a partial CRI line, a Docker
// fragment, a multi-line continuation) and gave no record yet.
struct ParsedRecord {
  Value record;
  int64_t time_ns = 0;
  bool has_time = false;
  bool held = false;
  std::string_view error;
  bool ok() const { return error.empty() && !held; }
};

// What a joining parser keeps between batches of one stream (a tailed file). Owned by the
// caller, one per stream; never shared between threads.
class ParserState {
 public:
  virtual ~ParserState() = default;
  // Sequence number (see LineBatch::first_seq) of the first line the state holds, if any:
  // a reader must not record its position past that line.
  std::optional<uint64_t> held_from;
  // When the oldest held line arrived, for flush intervals.
  int64_t held_since_ns = 0;
};
using ParserStatePtr = std::unique_ptr<ParserState>;

// A batch of lines for a parser. Lines are views valid for the duration of parse().
struct LineBatch {
  std::span<const std::string_view> lines;
  // Every line may be read kJsonPadding bytes past its end (lines in a read buffer).
  bool padded = false;
  // The stream's joining state, or nullptr for line-at-a-time parsing (a filter's field).
  ParserState* state = nullptr;
  // Sequence number of lines[0] within its stream.
  uint64_t first_seq = 0;
};

// Turns raw text into records, a batch of lines at a time. Immutable after create(); parse()
// runs concurrently on several threads (each with its own states). Strings in the results
// point into the lines or `arena`. REQUIRES: out.size() >= in.lines.size().
class Parser : public Plugin {
 public:
  virtual void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const = 0;
  // A new joining state for one stream, or nullptr for parsers that do not join lines.
  virtual ParserStatePtr newState() const { return nullptr; }
  // Emits what `state` holds as a record (flush interval, end of a rotated file). Returns
  // false when nothing was held.
  virtual bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
    (void)state; (void)arena; (void)out;
    return false;
  }
};
using ParserPtr = std::unique_ptr<Parser>;

}  // namespace sluice
