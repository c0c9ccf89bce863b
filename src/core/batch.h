// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/value.h"

namespace sluice {

// One log event: tag, time in nanoseconds since the Unix epoch, and the record (an object).
// The tag and the record's strings are views into the batch's arena, the input buffer, or a
// plugin's immutable configuration.
struct Event {
  std::string_view tag;
  int64_t time_ns = 0;
  Value record;
  // Where the event was read, stable across re-reads after a restart (a tailed file's device,
  // inode and line offset mixed into 64 bits); 0 when the input cannot say (stdin, sample).
  // Outputs derive idempotent document ids from it.
  uint64_t origin = 0;
};

// The origin of a line at `offset` in the file (`dev`, `ino`): never 0.
inline uint64_t lineOrigin(uint64_t dev, uint64_t ino, uint64_t offset) {
  uint64_t x = (dev * 0x9E3779B97F4A7C15ull) ^ (ino + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull;
  x ^= offset + 0x94D049BB133111EBull + (x << 6) + (x >> 2);
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x == 0 ? 1 : x;
}

// An event that a filter could not process and hands to the @ERROR label (Fluentd's
// router.emit_error_event). `reason` is a static or arena string.
struct ErrorEvent {
  Event event;
  std::string_view reason;
};

// A batch of events and the arena that holds their data. Plugins are called once per batch,
// never once per event. A Batch is used by one thread at a time; clear() keeps capacity so a
// warm batch allocates nothing.
class Batch {
 public:
  Batch() = default;
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) noexcept = default;

  Arena& arena() { return arena_; }
  std::vector<Event>& events() { return events_; }
  const std::vector<Event>& events() const { return events_; }
  size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }

  void add(std::string_view tag, int64_t time_ns, Value record, uint64_t origin = 0) {
    events_.push_back(Event{tag, time_ns, record, origin});
  }

  // Removes the events for which `pred(event)` is true, keeping order.
  template <class Pred>
  size_t eraseIf(Pred pred) {
    size_t out = 0;
    for (size_t i = 0; i < events_.size(); ++i) {
      if (!pred(events_[i])) {
        if (out != i) events_[out] = events_[i];
        ++out;
      }
    }
    size_t removed = events_.size() - out;
    events_.resize(out);
    return removed;
  }

  // Error events raised while filtering this batch; the router sends them to @ERROR.
  void emitError(const Event& event, std::string_view reason) {
    errors_.push_back(ErrorEvent{event, reason});
  }
  std::vector<ErrorEvent>& errors() { return errors_; }

  // An input's acknowledgement handle: every buffer chunk holding events of this batch keeps a
  // reference until the chunk is delivered (or handed to <secondary> / dead letters), so the
  // input can tell when all of them are (it holds the last reference then).
  const std::shared_ptr<void>& ack() const { return ack_; }
  void setAck(std::shared_ptr<void> ack) { ack_ = std::move(ack); }

  // Keeps `object` alive until the batch is cleared: records may point into memory a plugin
  // shares between batches (kubernetes_metadata's cached pod metadata). Once per batch and
  // object, not per event.
  void retain(std::shared_ptr<const void> object) { retained_.push_back(std::move(object)); }

  void clear() {
    events_.clear();
    errors_.clear();
    arena_.reset();
    ack_.reset();
    retained_.clear();
  }

 private:
  Arena arena_;
  std::shared_ptr<void> ack_;
  std::vector<std::shared_ptr<const void>> retained_;
  std::vector<Event> events_;
  std::vector<ErrorEvent> errors_;
};

}  // namespace sluice
