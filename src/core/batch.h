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
};

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

  void add(std::string_view tag, int64_t time_ns, Value record) {
    events_.push_back(Event{tag, time_ns, record});
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

  void clear() {
    events_.clear();
    errors_.clear();
    arena_.reset();
    ack_.reset();
  }

 private:
  Arena arena_;
  std::shared_ptr<void> ack_;
  std::vector<Event> events_;
  std::vector<ErrorEvent> errors_;
};

}  // namespace sluice
