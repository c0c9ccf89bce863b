// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/arena.h"
#include "core/json.h"
#include "core/parser.h"
#include "core/value.h"

namespace sluice {

// The container runtimes' log line formats, shared by the cri, docker and kubernetes parsers.

// CRI (containerd, CRI-O): `<RFC3339Nano time> <stdout|stderr> <P|F[:tags]> <message>`.
struct CriLine {
  std::string_view time_text;
  int64_t time_ns = 0;
  std::string_view stream;
  std::string_view logtag;
  std::string_view message;
  bool partial = false;  // logtag P: the runtime split a long line
};
std::optional<CriLine> parseCriLine(std::string_view line);

// Docker json-file: `{"log":"…\n","stream":"stdout","time":"…"}`. `record` receives the whole
// object (strings in `arena`); `log` not ending in "\n" is a fragment of a longer line. What
// parseJson repaired (invalid UTF-8, lone surrogates, ...) is added to `repairs` when given.
struct DockerLine {
  std::string_view log;  // without its final "\n"
  std::string_view stream;
  int64_t time_ns = 0;
  bool has_time = false;
  bool partial = false;
  Value record;
};
std::optional<DockerLine> parseDockerLine(std::string_view line, bool padded, Arena& arena,
                                         JsonRepairs* repairs = nullptr);

// Joins fragments of split lines per stream (stdout and stderr interleave) until the final
// one. Held text is bounded by `max_size`: a longer line is emitted in pieces (`forced`).
// Not thread-safe: one per stream, inside a ParserState.
class PartialJoiner {
 public:
  explicit PartialJoiner(size_t max_size) : max_size_(max_size) {}

  struct Joined {
    std::string_view message;  // in the arena passed to add()/flushOldest()
    std::string_view stream;   // in the arena too
    int64_t time_ns = 0;       // of the first fragment
    bool forced = false;       // emitted before its final fragment (size cap or flush)
  };

  // Adds a fragment (`final` false) or a whole/last piece (`final` true) of `stream`.
  // Returns the complete message when one is done; nullopt while fragments are held.
  std::optional<Joined> add(std::string_view stream, std::string_view text, int64_t time_ns,
                            bool final, uint64_t seq, Arena& arena);
  // Emits the oldest held message, if any.
  std::optional<Joined> flushOldest(Arena& arena);
  // The first held line's sequence number, if any.
  std::optional<uint64_t> heldFrom() const;

 private:
  struct Slot {
    std::string stream;
    std::string text;
    int64_t time_ns = 0;
    uint64_t from_seq = 0;
    bool active = false;
  };
  Slot& slotFor(std::string_view stream);
  Joined take(Slot& slot, Arena& arena, bool forced);

  std::array<Slot, 3> slots_;  // stdout, stderr, anything else
  size_t max_size_;
};

// Records in `state` which line is the first one held (or that none is), stamping when
// holding started.
void setHeld(ParserState& state, std::optional<uint64_t> from);

}  // namespace sluice
