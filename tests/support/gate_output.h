// SPDX-License-Identifier: Apache-2.0
#pragma once

// For backpressure tests of inputs: an output that cannot deliver until its gate opens, and the
// sink that appends to a real buffer in front of it (tests/support/buffer_support.h).

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "support/buffer_support.h"

namespace sluice::testing {

// Formats each record as JSON; write() asks for a retry while the gate is closed, then keeps
// every event. Thread-safe.
class GateOutput : public Output {
 public:
  void format(const Batch& batch, FormattedEvents& out) override {
    for (const Event& e : batch.events()) {
      appendJson(out.bytes, e.record);
      out.endEvent();
    }
  }
  WriteResult write(const ChunkView& chunk) override {
    if (!open.load()) return WriteResult::retry("gate closed");
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < chunk.events(); ++i) delivered.emplace_back(chunk.event(i));
    return WriteResult::ok();
  }
  size_t deliveredCount() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
  std::atomic<bool> open{false};
  std::mutex mu;
  std::vector<std::string> delivered;  // guarded by mu
};

// An input's next stage: the buffer itself (append blocks or refuses as configured).
class BufferSink : public EventSink {
 public:
  explicit BufferSink(OutputBuffer& b) : buffer_(b) {}
  Status emit(Batch& batch) override { return buffer_->append(batch); }

 private:
  OutputBuffer& buffer_;
};

}  // namespace sluice::testing
